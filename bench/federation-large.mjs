// `node bench/federation.mjs --large-mb 200`: a large signed PDF across the federation link, on two running
// nodes (bench/federation.mjs starts them: hub nats-server `central` + leaf `p01`, four services each, own
// schemas and ports). The central office's clerk uploads the PDF and sends it to the district served by node
// p01; the district's clerk finds it in the incoming register and downloads the attachment (same SHA-256).
// VmRSS of every process of both nodes (and of both nats-servers) is sampled every 100 ms, per phase; VmHWM
// (the peak since each process started) is read at the end. Prints a table and writes
// bench/results/federation-large-<time>.json. Numbers are printed, never asserted.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, openAsBlob, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ROOT } from '../scripts/platform.mjs';
import { writeLargeSignedPdf } from './large-file.mjs';

const require = createRequire(import.meta.url);
const { detachedCmsForDigest, makeSigner } = require('@lienthong/testing');
const LIMIT_MB = 300;

function status(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

const sha256File = async (path) => {
  const h = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), h);
  return h.digest('hex');
};

export async function runFederationLarge(ctx) {
  const { mb, nodes, natsPids, api, clerk, from, to, sender, recipient, ca, work, env } = ctx;
  const timeoutMs = (ctx.timeoutSeconds ?? 1800) * 1000;
  const pids = {};
  for (const [node, n] of Object.entries(nodes))
    for (const [s, pid] of Object.entries(n.pids)) pids[`${node} ${s}`] = pid;
  pids['nats-server hub (central)'] = natsPids.hub;
  pids['nats-server leaf (p01)'] = natsPids.leaf;

  const path = join(work, `large-${mb}mb.pdf`);
  process.stdout.write(`» writing a ${mb} MiB signed PDF…\n`);
  const signer = makeSigner('Van phong Trung uong (bench)', ca);
  const size = writeLargeSignedPdf(path, mb, signer, (digest, key) => detachedCmsForDigest(digest, { key }));
  const fileSha = await sha256File(path);

  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, status(pid)?.rss ?? null]));
  const peaks = {};
  let phase = 'upload';
  const sample = () => {
    const p = (peaks[phase] ??= {});
    for (const [k, pid] of Object.entries(pids)) {
      const s = pid && status(pid);
      if (s) p[k] = Math.max(p[k] ?? 0, s.rss);
    }
  };
  const timer = setInterval(sample, 100);
  const times = {};
  const subject = `LARGE-FED-${Date.now().toString(36)}`;
  const loadAtStart = loadavg().map((x) => +x.toFixed(2));
  try {
    // 1. upload at the central node (verification of the signature included)
    let t = performance.now();
    const c = await api(from, 'documents', 'POST', '/api/v1/documents', clerk[from], {
      number: String(Math.floor(Math.random() * 1e9)),
      notation: 'CV/BENCH',
      type: 'CV',
      typeName: 'Cong van',
      subject,
      promulgationPlace: 'Ha Noi',
      promulgationDate: '2026-11-30',
      signer: { position: 'Chanh Van phong', fullName: 'Nguyen Van Bench' },
      secrecy: 'none',
      urgency: 'normal',
      recipients: [recipient],
    });
    if (c.status !== 201) throw new Error(`create ${c.status} ${JSON.stringify(c.body)}`);
    const form = new FormData();
    form.append('file', await openAsBlob(path, { type: 'application/pdf' }), 'large.pdf');
    const up = await fetch(`${nodes[from].url.documents}/api/v1/documents/${c.body.id}/attachments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${clerk[from]}` },
      body: form,
    });
    const att = await up.json();
    if (up.status !== 201) throw new Error(`upload ${up.status} ${JSON.stringify(att).slice(0, 300)}`);
    times.uploadAndVerifyS = (performance.now() - t) / 1000;
    sample();

    // 2. send → the district's incoming register at p01
    phase = 'federation';
    t = performance.now();
    const s = await api(from, 'documents', 'POST', `/api/v1/documents/${c.body.id}/send`, clerk[from]);
    if (s.status !== 202) throw new Error(`send ${s.status} ${JSON.stringify(s.body)}`);
    let arrived;
    while (!arrived && performance.now() - t < timeoutMs) {
      const r = await api(
        to,
        'documents',
        'GET',
        `/api/v1/documents?direction=incoming&q=${encodeURIComponent(subject)}`,
        clerk[to],
      );
      arrived = (r.body?.items ?? []).find((d) => d.subject === subject);
      if (!arrived) await new Promise((res) => setTimeout(res, 500));
    }
    if (!arrived) throw new Error(`not in the district's register after ${timeoutMs / 1000} s`);
    times.sendToRegisterS = (performance.now() - t) / 1000;
    let statusCode;
    while (statusCode !== '01' && performance.now() - t < timeoutMs) {
      const r = await api(from, 'documents', 'GET', `/api/v1/documents/${c.body.id}`, clerk[from]);
      statusCode = r.body?.recipients?.[0]?.statusCode;
      if (statusCode !== '01') await new Promise((res) => setTimeout(res, 500));
    }
    times.sendTo01AtSenderS = (performance.now() - t) / 1000;
    sample();

    // 3. the district's clerk downloads the attachment
    phase = 'download';
    t = performance.now();
    const detail = await api(to, 'documents', 'GET', `/api/v1/documents/${arrived.id}`, clerk[to]);
    const a = (detail.body?.attachments ?? [])[0];
    if (!a) throw new Error(`no attachment at the district: ${JSON.stringify(detail.body).slice(0, 300)}`);
    const dl = await fetch(
      `${nodes[to].url.documents}/api/v1/documents/${arrived.id}/attachments/${a.id}/content`,
      { headers: { Authorization: `Bearer ${clerk[to]}` } },
    );
    if (dl.status !== 200) throw new Error(`download ${dl.status} ${await dl.text()}`);
    const h = createHash('sha256');
    let downloaded = 0;
    await pipeline(Readable.fromWeb(dl.body), async function* (chunks) {
      for await (const chunk of chunks) {
        downloaded += chunk.length;
        h.update(chunk);
      }
    });
    const downloadedSha = h.digest('hex');
    times.downloadS = (performance.now() - t) / 1000;
    sample();
    clearInterval(timer);

    const hwm = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, status(pid)?.hwm ?? null]));
    const result = {
      at: new Date().toISOString(),
      mb,
      sizeBytes: size,
      environment: { ...env, GOMEMLIMIT: process.env.GOMEMLIMIT ?? null },
      sha256: {
        file: fileSha,
        uploaded: att.sha256,
        atRecipient: a.sha256,
        downloaded: downloadedSha,
        same: new Set([fileSha, att.sha256, a.sha256, downloadedSha]).size === 1,
      },
      downloadedBytes: downloaded,
      signature: { atSender: att.signature, atRecipient: a.signature },
      register: { arrivalNumber: arrived.arrivalNumber, from: arrived.fromOrganizationCode },
      statusAtSender: statusCode,
      times,
      loadAverage: { start: loadAtStart, end: loadavg().map((x) => +x.toFixed(2)) },
      rssMb: Object.fromEntries(
        Object.keys(pids).map((k) => [
          k,
          {
            before: before[k] && Math.round(before[k]),
            ...Object.fromEntries(
              Object.entries(peaks).map(([ph, p]) => [`peak ${ph}`, p[k] && Math.round(p[k])]),
            ),
            vmHwm: hwm[k] && Math.round(hwm[k]),
          },
        ]),
      ),
    };
    print(result);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(
      join(ROOT, 'bench', 'results', `federation-large-${result.at.replace(/[:.]/g, '-')}.json`),
      JSON.stringify(result, null, 2),
    );
    return result;
  } finally {
    clearInterval(timer);
    rmSync(path, { force: true });
  }
}

function print(r) {
  const sig = (x) => (x?.valid ? `valid${x.trusted ? ', trusted' : ''}` : 'NOT valid');
  console.log(`
Large file across the federation link: ${(r.sizeBytes / 2 ** 20).toFixed(1)} MiB signed PDF, central office (node central) → district (node p01)
  upload + verification ${r.times.uploadAndVerifyS.toFixed(1)} s (signature ${sig(r.signature.atSender)}); send → district's register ${r.times.sendToRegisterS.toFixed(1)} s (arrival no. ${r.register.arrivalNumber}, 01 back at the sender after ${r.times.sendTo01AtSenderS.toFixed(1)} s); download ${r.times.downloadS.toFixed(1)} s
  SHA-256 ${r.sha256.same ? 'the same' : 'DIFFERENT'} (file, upload, district, download: ${r.downloadedBytes} bytes); signature at the district ${sig(r.signature.atRecipient)}
  load average ${r.loadAverage.start.join(' ')} → ${r.loadAverage.end.join(' ')}${r.environment.GOMEMLIMIT ? `; nats-servers with GOMEMLIMIT=${r.environment.GOMEMLIMIT}` : ''}`);
  const phases = Object.keys(Object.values(r.rssMb)[0]).filter((k) => k.startsWith('peak '));
  console.log(
    `  ${'process'.padEnd(28)} ${'before'.padStart(7)} ${phases.map((p) => p.padStart(16)).join(' ')} ${'VmHWM'.padStart(7)}   < ${LIMIT_MB} MB`,
  );
  for (const [k, v] of Object.entries(r.rssMb))
    console.log(
      `  ${k.padEnd(28)} ${String(v.before ?? '-').padStart(7)} ${phases.map((p) => String(v[p] ?? '-').padStart(16)).join(' ')} ${String(v.vmHwm ?? '-').padStart(7)}   ${v.vmHwm !== null && v.vmHwm < LIMIT_MB ? 'yes' : 'NO'}`,
    );
}
