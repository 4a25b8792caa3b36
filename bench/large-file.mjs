// `npm run bench -- --large-file [--large-mb 200]`: one signed PDF of that size sent to a local recipient and
// to a government agency behind the SIMULATED national axis, on a platform started for it alone, with the
// peak RSS of every process sampled while it passes (VmRSS every 100 ms, and VmHWM: the peak since the
// process started). Called by bench/run.mjs once the services are up; prints a table and returns numbers.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openAsBlob, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const require = createRequire(import.meta.url);

function status(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/**
 * A signed PDF of about `mb` MiB written to `path` without holding it whole: a one-page-tree PDF with a
 * stream object of random bytes, then an incremental update with the signature dictionary. The signed
 * ranges are hashed as they are written; the CMS is built from that digest (node:crypto signs).
 */
export function writeLargeSignedPdf(path, mb, signer, cms) {
  const fd = openSync(path, 'w');
  const hash = createHash('sha256');
  let offset = 0;
  const write = (b, hashed = true) => {
    writeSync(fd, b, 0, b.length, offset);
    if (hashed) hash.update(b);
    offset += b.length;
  };
  const body = mb * 1024 * 1024;
  write(
    Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n', 'latin1'),
  );
  write(Buffer.from('2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n', 'latin1'));
  write(Buffer.from(`4 0 obj << /Length ${body} >> stream\n`, 'latin1'));
  const block = Buffer.alloc(4 * 1024 * 1024);
  for (let left = body; left > 0; left -= block.length) {
    // Pseudo-random filler that never spells a PDF keyword: bytes 0x80..0xff only.
    for (let i = 0; i < block.length; i += 4)
      block.writeUInt32LE(((Math.random() * 0x7fffffff) | 0x80808080) >>> 0, i);
    write(left >= block.length ? block : block.subarray(0, left));
  }
  write(Buffer.from('\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1'));
  const HOLE = 16384;
  const pad = (n) => String(n).padStart(12, '0');
  const head = `3 0 obj << /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange `;
  // The ByteRange is known before writing: [0 contentsStart contentsEnd rest].
  const rangeLen = `[0 ${pad(0)} ${pad(0)} ${pad(0)}]`.length;
  const contentsStart = offset + head.length + rangeLen + ' /Contents '.length;
  const contentsEnd = contentsStart + HOLE + 2;
  const tail = ` /M (D:20261130090000+07'00') >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`;
  const total = contentsEnd + tail.length;
  write(
    Buffer.from(
      `${head}[0 ${pad(contentsStart)} ${pad(contentsEnd)} ${pad(total - contentsEnd)}] /Contents `,
      'latin1',
    ),
  );
  const holeAt = offset;
  offset += HOLE + 2; // written below, not hashed
  write(Buffer.from(tail, 'latin1'));
  const der = cms(hash.digest(), signer);
  const hex = der.toString('hex').padEnd(HOLE, '0');
  writeSync(fd, Buffer.from(`<${hex}>`, 'latin1'), 0, HOLE + 2, holeAt);
  closeSync(fd);
  return total;
}

export async function runLargeFile(ctx) {
  const {
    mb,
    url,
    tokens,
    sender,
    local,
    agency,
    pids,
    newDocument,
    api,
    waitArrived,
    since,
    work,
    signer,
    cms,
  } = ctx;
  const path = join(work, `large-${mb}mb.pdf`);
  process.stdout.write(`» writing a ${mb} MiB signed PDF…\n`);
  const size = writeLargeSignedPdf(path, mb, signer, cms);
  const peaks = Object.fromEntries(Object.keys(pids).map((k) => [k, 0]));
  const sample = () => {
    for (const [k, pid] of Object.entries(pids)) {
      const s = pid && status(pid);
      if (s) peaks[k] = Math.max(peaks[k], s.rss);
    }
  };
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, status(pid)?.rss ?? null]));
  const timer = setInterval(sample, 100);
  const times = {};
  const t0 = performance.now();
  const c = await api(
    'documents',
    'POST',
    '/api/v1/documents',
    tokens[sender],
    newDocument(sender, [local, agency], 'LARGE'),
  );
  if (c.status !== 201) throw new Error(`create ${c.status} ${JSON.stringify(c.body)}`);
  const form = new FormData();
  form.append('file', await openAsBlob(path, { type: 'application/pdf' }), 'large.pdf');
  const up = await fetch(`${url.documents}/api/v1/documents/${c.body.id}/attachments`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${tokens[sender]}` },
    body: form,
  });
  const att = await up.json();
  times.uploadAndVerifyS = (performance.now() - t0) / 1000;
  if (up.status !== 201) throw new Error(`upload ${up.status} ${JSON.stringify(att).slice(0, 300)}`);
  const s = await api('documents', 'POST', `/api/v1/documents/${c.body.id}/send`, tokens[sender]);
  if (s.status !== 202) throw new Error(`send ${s.status} ${JSON.stringify(s.body)}`);
  const doc = { id: c.body.id, sender, recipients: [local, agency] };
  const t1 = performance.now();
  const w = await waitArrived([doc], since, 'large file', ctx.timeoutSeconds);
  times.sendToAllArrivedS = (performance.now() - t1) / 1000;
  const view = w.views.get(doc.id);
  clearInterval(timer);
  sample();
  const incoming = ctx.incoming ? await runIncoming(ctx, path, pids) : undefined;
  // VmHWM: the peak since each process started, the incoming runs included.
  const hwm = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, status(pid)?.hwm ?? null]));
  rmSync(path, { force: true });
  const result = {
    sizeBytes: size,
    signature: att.signature,
    recipients: Object.fromEntries((view?.recipients ?? []).map((r) => [r.organizationCode, r.status])),
    complete: w.complete,
    times,
    loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
    rssMb: Object.fromEntries(
      Object.keys(pids).map((k) => [
        k,
        {
          before: before[k] && Math.round(before[k]),
          peakSampled: Math.round(peaks[k]),
          vmHwm: hwm[k] && Math.round(hwm[k]),
        },
      ]),
    ),
  };
  console.log(
    `\nLarge file: ${(size / 2 ** 20).toFixed(1)} MiB signed PDF, signature ${att.signature?.valid ? 'valid' : 'NOT valid'}${att.signature?.trusted ? ', trusted' : ''}`,
  );
  console.log(
    `  upload + verification ${times.uploadAndVerifyS.toFixed(1)} s; send → every recipient at 01: ${w.complete ? `${times.sendToAllArrivedS.toFixed(1)} s` : 'NOT within the time limit'}`,
  );
  console.log(
    `  recipients: ${JSON.stringify(result.recipients)}; load average ${result.loadAverage.join(' ')}`,
  );
  if (incoming) {
    result.incoming = incoming;
    for (const [route, r] of Object.entries(incoming))
      console.log(
        `  IN ${route}: ${r.arrived ? `arrived in ${r.seconds.toFixed(1)} s` : 'NOT arrived'} (${(r.packageBytes / 2 ** 20).toFixed(0)} MiB package); peak RSS ${Object.entries(
          r.peakRssMb,
        )
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} MB`,
      );
  }
  console.log(
    '  process            RSS before   peak RSS (sampled, out)   VmHWM (since start, in + out)   < 300 MB',
  );
  for (const [k, v] of Object.entries(result.rssMb))
    console.log(
      `  ${k.padEnd(18)} ${String(v.before ?? '-').padStart(7)} MB ${String(v.peakSampled).padStart(12)} MB ${String(v.vmHwm ?? '-').padStart(17)} MB   ${v.vmHwm !== null && v.vmHwm < 300 ? 'yes' : 'NO'}`,
    );
  return result;
}

/** Peak RSS (MB) of every process while `fn` runs, sampled every 100 ms. */
async function peaksWhile(pids, fn) {
  const peaks = Object.fromEntries(Object.keys(pids).map((k) => [k, 0]));
  const sample = () => {
    for (const [k, pid] of Object.entries(pids)) {
      const s = pid && status(pid);
      if (s) peaks[k] = Math.max(peaks[k], s.rss);
    }
  };
  const timer = setInterval(sample, 100);
  try {
    const value = await fn();
    sample();
    return { value, peaks: Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(v)])) };
  } finally {
    clearInterval(timer);
  }
}

/**
 * The receiving side (issue 15 item 4): the same PDF comes IN as an edXML package — posted to
 * POST /api/v1/edxml by an exchange client (the body piped from disk), and fetched by the bus from the
 * SIMULATED axis by getEdoc (the simulator serves it from a file: JSON with the package in base64) — each
 * to the local recipient, whose documents service shows it. The package file is written by the bus's own
 * streaming writer (dist), signed by a key of the bench's.
 */
async function runIncoming(ctx, pdfPath, pids) {
  const { buildEdxml, url, tokens, local, sender, agency, work } = ctx;
  const { writeSignedPackage, formatDocumentId, generateSelfSigned } = buildEdxml;
  const cred = generateSelfSigned('bench-incoming-system', 2048);
  const pdfSize = Number(require('node:fs').statSync(pdfPath).size);
  const makePackage = async (from, label) => {
    const number = String(Date.now() % 1e6);
    const subject = `LARGE IN ${label} ${number}`;
    const outline = {
      from: { organId: from },
      to: [{ organId: local }],
      documentId: formatDocumentId(from, new Date().toISOString().slice(0, 10), number, 'CV'),
      codeNumber: number,
      codeNotation: 'CV',
      promulgationDate: new Date().toISOString().slice(0, 10),
      type: 'CV',
      subject,
      signer: { fullName: 'Bench' },
      priority: 0,
      steeringType: 0,
      toPlaces: [],
      responseFor: [],
      traces: [],
      businessDocType: 0,
      attachments: [{ contentId: 'cid:1', name: 'large.pdf', contentType: 'application/pdf' }],
    };
    const path = join(work, `incoming-${label}.xml`);
    const written = await writeSignedPackage(
      outline,
      () => createReadStream(pdfPath, { highWaterMark: 1024 * 1024 }),
      cred,
      path,
    );
    return { path, size: written.size, subject };
  };
  const arrived = async (subject) => {
    const deadline = Date.now() + (ctx.timeoutSeconds ?? 600) * 1000;
    while (Date.now() < deadline) {
      const r = await ctx.api(
        'documents',
        'GET',
        `/api/v1/documents?direction=incoming&q=${encodeURIComponent(subject)}`,
        tokens[local],
      );
      const item = (r.body?.items ?? []).find((d) => d.subject === subject);
      if (item) return item;
      await new Promise((res) => setTimeout(res, 500));
    }
    return undefined;
  };
  const out = {};

  // 1. POST /api/v1/edxml, the body piped from the file.
  process.stdout.write('» incoming: POST /api/v1/edxml…\n');
  const client = await ctx.api('identity', 'POST', '/api/v1/clients', ctx.admin, {
    name: `bench large edxml ${Date.now()}`,
    organizationCode: sender,
    roles: ['exchange'],
  });
  if (client.status !== 201) throw new Error(`client ${client.status} ${JSON.stringify(client.body)}`);
  const tokenRes = await fetch(`${url.identity}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'client_credentials',
      client_id: client.body.clientId,
      client_secret: client.body.clientSecret,
    }),
  });
  const clientToken = (await tokenRes.json()).access_token;
  if (!clientToken) throw new Error(`client token ${tokenRes.status}`);
  const viaApi = await makePackage(sender, 'api');
  const t0 = performance.now();
  const api = await peaksWhile(pids, async () => {
    const status = await new Promise((resolve, reject) => {
      const req = httpRequest(`${url['integration-bus']}/api/v1/edxml`, {
        method: 'POST',
        headers: {
          'content-type': 'application/xml',
          'content-length': viaApi.size,
          authorization: `Bearer ${clientToken}`,
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      pipeline(createReadStream(viaApi.path, { highWaterMark: 256 * 1024 }), req).catch(reject);
    });
    if (status.status !== 202)
      throw new Error(`POST /api/v1/edxml ${status.status} ${status.body.slice(0, 300)}`);
    return arrived(viaApi.subject);
  });
  out['POST /api/v1/edxml'] = {
    packageBytes: viaApi.size,
    attachmentBytes: pdfSize,
    arrived: Boolean(api.value),
    seconds: (performance.now() - t0) / 1000,
    peakRssMb: api.peaks,
  };
  rmSync(viaApi.path, { force: true });

  // 2. From the (simulated) national axis: getEdoc of a package the simulator serves from its file.
  process.stdout.write('» incoming: from the national axis (getEdoc)…\n');
  const viaAxis = await makePackage(agency, 'axis');
  const t1 = performance.now();
  const axis = await peaksWhile(pids, async () => {
    const inj = await fetch(`${ctx.axisUrl}/_sim/inject`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        from: agency,
        to: ctx.systemId,
        messageType: 'edoc',
        contentPath: viaAxis.path,
      }),
    });
    if (inj.status !== 201) throw new Error(`inject ${inj.status} ${await inj.text()}`);
    return arrived(viaAxis.subject);
  });
  out['national axis getEdoc'] = {
    packageBytes: viaAxis.size,
    attachmentBytes: pdfSize,
    arrived: Boolean(axis.value),
    seconds: (performance.now() - t1) / 1000,
    peakRssMb: axis.peaks,
  };
  rmSync(viaAxis.path, { force: true });
  return out;
}
