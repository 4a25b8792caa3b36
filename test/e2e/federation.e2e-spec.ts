import {
  NAMESPACE,
  natsAuthorizationConfig,
  SERVICE_NAMES,
  Subjects,
  type ServiceName,
} from '@lienthong/contracts';
import { freePort, NatsServerProcess } from '@lienthong/testing';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import canonicalize from 'canonicalize';
import { createPublicKey, randomBytes, randomUUID, sign, verify, X509Certificate } from 'node:crypto';
import { buildPackage, formatDocumentId, signPackage } from '../../services/integration-bus/src/edxml';
import { generateSelfSigned } from '../../services/integration-bus/src/edxml/node-certificate';
import { api, login, until } from './support/api';
import { PlatformProcesses } from './support/platform-processes';

jest.setTimeout(600_000);

const CENTRAL_OFFICE = '000.00.00.H01';
const DISTRICT = '000.21.31.H41';
const PASSWORD = 'Federation-e2e-Passw0rd!';

/**
 * Two nodes of the platform on one machine, each with its own NATS server and JetStream domain: the central
 * hub (domain `central`) and a provincial node (domain `p01`) that dials the hub as a leaf node. The leaf link
 * carries no platform subject (deny_imports/deny_exports of the namespace), only JetStream's own traffic.
 */
describe('federation: a provincial node joined to the central hub as a NATS leaf node', () => {
  const centralCred = generateSelfSigned('lienthong-bus-central', 2048);
  const provinceCred = generateSelfSigned('lienthong-bus-p01', 2048);
  const natsPasswords = Object.fromEntries(
    SERVICE_NAMES.map((s) => [s, randomBytes(12).toString('hex')]),
  ) as unknown as Record<ServiceName, string>;
  const leafPassword = randomBytes(12).toString('hex');
  const adminPassword = randomBytes(12).toString('hex');
  let hub: NatsServerProcess;
  let leaf: NatsServerProcess;
  let central: PlatformProcesses;
  let province: PlatformProcesses;
  const tokens: Record<string, string> = {};

  async function sendDocument(
    from: PlatformProcesses,
    token: string,
    to: string,
    subject: string,
  ): Promise<string> {
    const created = await api(from, 'documents', 'POST', '/api/v1/documents', token, {
      number: String(Math.floor(Math.random() * 1e6)),
      notation: 'CV/HU',
      type: 'CV',
      typeName: 'Công văn',
      subject,
      promulgationPlace: 'Huyện ủy',
      promulgationDate: '2026-11-29',
      signer: { position: 'Bí thư', fullName: 'Trần Văn B' },
      secrecy: 'none',
      urgency: 'normal',
      recipients: [to],
    });
    expect(created.status).toBe(201);
    const sent = await api(from, 'documents', 'POST', `/api/v1/documents/${created.body.id}/send`, token);
    expect(sent.status).toBe(202);
    return created.body.id;
  }

  const incoming = async (node: PlatformProcesses, token: string) => {
    const items: { id: string; subject: string; arrivalNumber: number; fromOrganizationCode: string }[] = [];
    let cursor: string | null = null;
    do {
      const r = await api(
        node,
        'documents',
        'GET',
        `/api/v1/documents?direction=incoming&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        token,
      );
      expect(r.status).toBe(200);
      items.push(...r.body.items);
      cursor = r.body.nextCursor ?? null;
    } while (cursor);
    return items;
  };

  beforeAll(async () => {
    const leafPort = await freePort();
    // The hub as deployed (deploy/nats/authorization.conf): the services log in as their own users and the
    // province as leaf-p01, with the permissions the hub decides (libs/contracts nats-authorization.ts).
    hub = new NatsServerProcess({
      jetstreamDomain: 'central',
      serverName: 'hub',
      extraConfig: natsAuthorizationConfig({
        nodeId: 'central',
        domain: 'central',
        servicePasswords: natsPasswords,
        leaves: [{ nodeId: 'p01', domain: 'p01', password: leafPassword }],
        leafListen: `127.0.0.1:${leafPort}`,
        adminPassword,
      }),
    });
    leaf = new NatsServerProcess({
      jetstreamDomain: 'p01',
      serverName: 'leaf-p01',
      extraConfig: `leafnodes { remotes: [ { url: "nats-leaf://leaf-p01:${leafPassword}@127.0.0.1:${leafPort}", deny_imports: ["${NAMESPACE}.>"], deny_exports: ["${NAMESPACE}.>"] } ] }`,
    });
    await hub.start();
    await leaf.start();
    const common = { AUDIT_CHECKPOINT_INTERVAL_MS: '1000', EXCHANGE_RETRY_BASE_MS: '200' };
    const natsUser = (svc: ServiceName) => ({ NATS_USER: svc, NATS_PASSWORD: natsPasswords[svc] });
    central = new PlatformProcesses({
      all: { ...common, NATS_URL: hub.url, NODE_ID: 'central' },
      identity: natsUser('identity'),
      documents: natsUser('documents'),
      audit: natsUser('audit'),
      'integration-bus': {
        ...natsUser('integration-bus'),
        NODE_CERT_PEM: centralCred.certPem,
        NODE_KEY_PEM: centralCred.keyPem,
        TRUSTED_NODE_CERTS: provinceCred.certPem,
        FEDERATION_PEERS: 'p01@p01',
      },
    });
    province = new PlatformProcesses({
      all: { ...common, NATS_URL: leaf.url, NODE_ID: 'p01' },
      identity: { DIRECTORY_UPSTREAM_DOMAIN: 'central' },
      'integration-bus': {
        NODE_CERT_PEM: provinceCred.certPem,
        NODE_KEY_PEM: provinceCred.keyPem,
        TRUSTED_NODE_CERTS: centralCred.certPem,
        FEDERATION_PEERS: 'central@central',
        FEDERATION_WITNESS_NODE: 'central',
      },
    });
    await Promise.all([central.start(), province.start()]);
    tokens.centralAdmin = await login(central, 'admin', central.adminPassword);
    tokens.provinceAdmin = await login(province, 'admin', province.adminPassword);

    // The directory is authoritative at the centre: both organizations are created there, with the node
    // serving each, and reach the provincial node by replication.
    const me = await api(central, 'identity', 'GET', '/api/v1/auth/me', tokens.centralAdmin);
    for (const [code, name, level, nodeId] of [
      [CENTRAL_OFFICE, 'Văn phòng Trung ương Đảng', 'central', 'central'],
      [DISTRICT, 'Huyện ủy Đông Anh', 'district', 'p01'],
    ]) {
      const r = await api(central, 'identity', 'POST', '/api/v1/organizations', tokens.centralAdmin, {
        code,
        name,
        parentCode: me.body.organizationCode,
        level,
        sector: 'party',
        zone: 'party-wan',
        nodeId,
      });
      expect(r.status).toBe(201);
    }
    await until(
      async () =>
        (await api(province, 'identity', 'GET', `/api/v1/organizations/${DISTRICT}`, tokens.provinceAdmin))
          .body.nodeId === 'p01',
      'the district replicated to the provincial node',
    );
    // Users and tokens stay node-local.
    for (const [node, username, org] of [
      [central, 'clerk.central', CENTRAL_OFFICE],
      [province, 'clerk.district', DISTRICT],
    ] as const) {
      const r = await api(
        node,
        'identity',
        'POST',
        '/api/v1/users',
        tokens[node === central ? 'centralAdmin' : 'provinceAdmin'],
        {
          username,
          fullName: username,
          password: PASSWORD,
          organizationCode: org,
          roles: ['clerk'],
        },
      );
      expect(r.status).toBe(201);
      tokens[username] = await login(node, username, PASSWORD);
    }
  });

  afterAll(async () => {
    await central?.stop();
    await province?.stop();
    await leaf?.destroy();
    await hub?.destroy();
  });

  it('a document from a provincial district reaches the central office with an arrival number and its 03 comes back', async () => {
    const subject = `Báo cáo tình hình ${randomUUID().slice(0, 8)}`;
    const id = await sendDocument(province, tokens['clerk.district'], CENTRAL_OFFICE, subject);
    const arrived = await until(
      async () => (await incoming(central, tokens['clerk.central'])).find((d) => d.subject === subject),
      'the document at the central office',
    );
    expect(arrived.fromOrganizationCode).toBe(DISTRICT);
    expect(arrived.arrivalNumber).toBeGreaterThanOrEqual(1);
    await until(
      async () =>
        (await api(province, 'documents', 'GET', `/api/v1/documents/${id}`, tokens['clerk.district'])).body
          .recipients?.[0]?.statusCode === '01',
      '01 at the district',
    );
    const accepted = await api(
      central,
      'documents',
      'POST',
      `/api/v1/documents/${arrived.id}/status`,
      tokens['clerk.central'],
      { status: 'accepted' },
    );
    expect(accepted.status).toBeLessThan(300);
    const recipient = await until(async () => {
      const r = await api(province, 'documents', 'GET', `/api/v1/documents/${id}`, tokens['clerk.district']);
      return r.body.recipients?.[0]?.statusCode === '03' && r.body.recipients[0];
    }, '03 at the district');
    expect(recipient).toMatchObject({
      organizationCode: CENTRAL_OFFICE,
      status: 'accepted',
      statusCode: '03',
    });
  });

  it('an update, a replacement and a recall from the district reach the central copy across the link', async () => {
    const subject = `Kế hoạch ${randomUUID().slice(0, 8)}`;
    const district = tokens['clerk.district'];
    const centralClerk = tokens['clerk.central'];
    const id = await sendDocument(province, district, CENTRAL_OFFICE, subject);
    const copy = await until(
      async () => (await incoming(central, centralClerk)).find((d) => d.subject === subject),
      'the document at the central office',
    );
    const changes = { subject: `${subject} (đính chính)`, urgency: 'urgent' };
    const updated = await api(province, 'documents', 'POST', `/api/v1/documents/${id}/update`, district, {
      reason: 'Đính chính',
      changes,
    });
    expect(updated.status).toBe(202);
    const seen = await until(async () => {
      const r = await api(central, 'documents', 'GET', `/api/v1/documents/${copy.id}`, centralClerk);
      return r.body.history?.length ? r.body : undefined;
    }, 'the update at the central office');
    expect(seen).toMatchObject(changes);
    expect(seen.history).toEqual([
      { businessType: 2, at: expect.any(String), reason: 'Đính chính', changes },
    ]);

    const replacement = await api(province, 'documents', 'POST', '/api/v1/documents', district, {
      number: String(Math.floor(Math.random() * 1e6)),
      notation: 'CV/HU',
      type: 'CV',
      subject: `${subject} (thay thế)`,
      promulgationDate: '2026-11-30',
      signer: { position: 'Bí thư', fullName: 'Trần Văn B' },
      secrecy: 'none',
      urgency: 'normal',
      recipients: [],
      replaces: id,
    });
    expect(replacement.status).toBe(201);
    expect(
      (await api(province, 'documents', 'POST', `/api/v1/documents/${replacement.body.id}/send`, district))
        .status,
    ).toBe(202);
    const newCopy = await until(async () => {
      const found = (await incoming(central, centralClerk)).find(
        (d) => d.subject === `${subject} (thay thế)`,
      );
      if (!found) return undefined;
      const r = await api(central, 'documents', 'GET', `/api/v1/documents/${found.id}`, centralClerk);
      return r.body.replaces ? r.body : undefined;
    }, 'the replacement linked at the central office');
    expect(newCopy.replaces).toBe(copy.id);
    const old = await api(central, 'documents', 'GET', `/api/v1/documents/${copy.id}`, centralClerk);
    expect(old.body.replacedBy).toBe(newCopy.id);

    const recall = await api(
      province,
      'documents',
      'POST',
      `/api/v1/documents/${replacement.body.id}/recall`,
      district,
      { reason: 'Ban hành nhầm' },
    );
    expect(recall.status).toBe(202);
    await until(async () => {
      const r = await api(province, 'documents', 'GET', `/api/v1/documents/${replacement.body.id}`, district);
      return r.body.recipients?.[0]?.statusCode === '15';
    }, '15 at the district');
    const recalled = await api(central, 'documents', 'GET', `/api/v1/documents/${newCopy.id}`, centralClerk);
    expect(recalled.body).toMatchObject({ status: 'recalled', statusCode: '13' });
  });

  it('the leaf link is cut while documents are sent; when it returns every document arrives exactly once', async () => {
    await leaf.stop();
    const subjects = Array.from(
      { length: 6 },
      (_, i) => `Văn bản trong lúc mất kết nối ${i} ${randomUUID().slice(0, 8)}`,
    );
    const ids: string[] = [];
    for (const s of subjects) ids.push(await sendDocument(central, tokens['clerk.central'], DISTRICT, s));
    // While the link is down the documents wait on the central side (in its FEDOUT stream).
    await new Promise((r) => setTimeout(r, 5000));
    await leaf.start();
    const arrived = await until(
      async () => {
        const mine = (await incoming(province, tokens['clerk.district'])).filter((d) =>
          subjects.includes(d.subject),
        );
        return mine.length >= subjects.length && mine;
      },
      'every document at the district',
      120_000,
    );
    // Give a duplicate time to show up, then count again.
    await new Promise((r) => setTimeout(r, 3000));
    const again = (await incoming(province, tokens['clerk.district'])).filter((d) =>
      subjects.includes(d.subject),
    );
    expect(again).toHaveLength(subjects.length);
    expect(new Set(again.map((d) => d.subject)).size).toBe(subjects.length);
    expect(new Set(arrived.map((d) => d.arrivalNumber)).size).toBe(subjects.length);
    // The 01 of each comes back to the central sender.
    for (const id of ids) {
      await until(
        async () =>
          (await api(central, 'documents', 'GET', `/api/v1/documents/${id}`, tokens['clerk.central'])).body
            .recipients?.[0]?.statusCode === '01',
        `01 for ${id}`,
        60_000,
      );
    }
  });

  it('a package signed by a node outside the trust list is refused and audited at the receiving node', async () => {
    const stranger = generateSelfSigned('lienthong-bus-central', 1024);
    /** A federation message carrying an edXML package for the district, as a node would publish it. */
    const forged = (
      envelopeSigner: { certPem: string; keyPem: string },
      packageSigner: { certPem: string; keyPem: string },
      number: string,
    ) => {
      const xml = signPackage(
        buildPackage({
          from: { organId: CENTRAL_OFFICE },
          to: [{ organId: DISTRICT }],
          documentId: formatDocumentId(CENTRAL_OFFICE, '2026-11-29', number, 'GIẢ-MẠO'),
          codeNumber: number,
          codeNotation: 'GIẢ-MẠO',
          promulgationDate: '2026-11-29',
          type: '1',
          subject: `Giả mạo ${number}`,
          signer: {},
          priority: 0,
          steeringType: 0,
          toPlaces: [],
          responseFor: [],
          traces: [],
          businessDocType: 0,
          attachments: [],
        }),
        packageSigner,
      );
      const body = {
        kind: 'package',
        fromNodeId: 'central',
        toNodeId: 'p01',
        sourceDocumentId: `forged-${number}`,
        packageBase64: Buffer.from(xml).toString('base64'),
      };
      const proof = {
        certificate: new X509Certificate(envelopeSigner.certPem).raw.toString('base64'),
        signature: sign('sha256', Buffer.from(canonicalize(body)!, 'utf8'), envelopeSigner.keyPem).toString(
          'base64',
        ),
      };
      return { ...body, proof };
    };
    const nc = await connect({ servers: hub.url, user: 'admin', pass: adminPassword });
    try {
      // Published on the hub, as a compromised peer would: they cross the link like any federation message.
      // 1: everything signed by the stranger; 2: the central node's own envelope around a stranger's package.
      for (const data of [forged(stranger, stranger, '901'), forged(centralCred, stranger, '902')]) {
        const id = randomUUID();
        await jetstream(nc).publish(
          Subjects.federationOut('p01'),
          JSON.stringify({
            id,
            type: 'bus.node-inbound',
            occurredAt: new Date().toISOString(),
            source: 'integration-bus@stranger',
            data,
          }),
          { msgID: id },
        );
      }
    } finally {
      await nc.close();
    }
    for (const documentId of ['forged-901', 'forged-902']) {
      const refused = await until(async () => {
        const r = await api(
          province,
          'audit',
          'GET',
          '/api/v1/audit/events?action=edxml.rejected',
          tokens.provinceAdmin,
        );
        return r.body.items?.find(
          (e: { details?: { reason?: string; node?: string; documentId?: string } }) =>
            e.details?.reason === 'SIGNATURE_UNTRUSTED' && e.details?.documentId === documentId,
        );
      }, `the refusal of ${documentId} in the provincial audit log`);
      expect(refused).toMatchObject({ outcome: 'denied', details: { node: 'central' } });
    }
    expect(
      (await incoming(province, tokens['clerk.district'])).filter((d) => d.subject.startsWith('Giả mạo')),
    ).toHaveLength(0);
  });

  it("the provincial node's audit checkpoints are witnessed and countersigned by the central node", async () => {
    const witnessed = await until(
      async () => {
        const r = await api(central, 'audit', 'GET', '/api/v1/audit/witness/nodes', tokens.centralAdmin);
        return r.body.items?.find(
          (n: { nodeId: string; cosigned: number }) => n.nodeId === 'p01' && n.cosigned >= 2,
        );
      },
      'two witnessed checkpoints of p01 at the centre',
      120_000,
    );
    expect(witnessed).toMatchObject({ inconsistent: 0 });
    // The answers came back to the province; a cosignature verifies with the centre's published key, over
    // the province's own checkpoint text (API.md), independently of the services' code.
    const answer = await until(
      async () => {
        const r = await api(
          province,
          'audit',
          'GET',
          '/api/v1/audit/checkpoint/cosignatures?limit=100',
          tokens.provinceAdmin,
        );
        return r.body.items?.find(
          (c: { verdict: string; matchesCheckpoint: boolean }) =>
            c.verdict === 'cosigned' && c.matchesCheckpoint,
        );
      },
      'a cosignature at the province',
      60_000,
    );
    const keys = await api(central, 'audit', 'GET', '/api/v1/audit/keys', tokens.centralAdmin);
    const key = keys.body.keys.find((k: { keyId: string }) => k.keyId === answer.witnessKeyId);
    const origin = (await api(province, 'audit', 'GET', '/api/v1/audit/checkpoint', tokens.provinceAdmin))
      .body.origin;
    const text = `${origin}\n${answer.treeSize}\n${Buffer.from(answer.rootHash, 'hex').toString('base64')}\n`;
    expect(
      verify(
        null,
        Buffer.from(text),
        createPublicKey(key.publicKey),
        Buffer.from(answer.cosignature, 'base64'),
      ),
    ).toBe(true);
  });
});
