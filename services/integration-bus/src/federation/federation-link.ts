import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { JetStreamService, OutboxService } from '@lienthong/common';
import {
  jsApi,
  sourceDeliveryPrefix,
  streamName,
  Subjects,
  type NodeInboundEvent,
  type StreamDefinition,
} from '@lienthong/contracts';
import type { StreamSource } from '@nats-io/jetstream';
import canonicalize from 'canonicalize';
import {
  createHash,
  createPrivateKey,
  randomUUID,
  sign,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import type { EntityManager } from 'typeorm';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { certificateOf } from '../edxml/edxml.signature';
import { EdxmlNodeService } from '../edxml/edxml-node.service';

const HOUR = 3_600_000;

/** A message refused for good (acknowledged and audited, never retried). */
export class FederationRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type FederationBody = Omit<
  NodeInboundEvent,
  'fromNodeId' | 'toNodeId' | 'proof' | 'packageBase64' | 'transfer'
>;

/** A package written to a file (exchange-routing's `signedPackageFile`). */
export interface PackageFileRef {
  path: string;
  size: number;
}

export interface OpenedMessage {
  /** The node certificate's subject, as authenticated. */
  signer: string;
  /**
   * The package: the bytes of a small one, or its parts read one at a time from FEDIN (never gathered): the
   * iteration throws TRANSFER_CORRUPT at its end when they do not have the declared size and hash.
   */
  package?: Buffer | AsyncIterable<Uint8Array>;
}

/** A certificate names its node: CN `lienthong-bus-<NODE_ID>` (or the bare NODE_ID). */
export function nodeIdOfCertificate(cert: X509Certificate): string | undefined {
  const cn = cert.subject
    .split('\n')
    .find((l) => l.startsWith('CN='))
    ?.slice(3);
  return cn?.replace(/^lienthong-bus-/, '');
}

function signedBytes(ev: NodeInboundEvent): Buffer {
  const { proof: _proof, ...rest } = ev;
  const text = canonicalize(rest);
  if (text === undefined) throw new Error('federation message cannot be canonicalized');
  return Buffer.from(text, 'utf8');
}

/**
 * The durable link between nodes, built from JetStream alone. Outgoing messages go into this node's FEDOUT
 * stream on `fed.<target>.…`; this node's FEDIN stream *sources* `fed.<me>.…` from the FEDOUT stream of every
 * peer — across JetStream domains over the leaf-node link when the peer is another NATS. JetStream keeps the
 * messages on the sender's side while the link is down and the source resumes from its last sequence when the
 * link returns, so nothing is lost and nothing is copied twice.
 */
@Injectable()
export class FederationLink implements OnApplicationBootstrap {
  private readonly logger = new Logger(FederationLink.name);
  private readonly trustedFingerprints: Set<string>;
  private readonly certificateBase64: string;

  constructor(
    private readonly js: JetStreamService,
    private readonly outbox: OutboxService,
    private readonly node: EdxmlNodeService,
    private readonly config: IntegrationBusConfig,
  ) {
    this.trustedFingerprints = new Set(
      node.trusted.map((p) => createHash('sha256').update(new X509Certificate(p).raw).digest('hex')),
    );
    this.certificateBase64 = new X509Certificate(node.credentials.certPem).raw.toString('base64');
  }

  get nodeId(): string {
    return this.config.NODE_ID;
  }

  private key?: { pem: string; key: KeyObject };

  /** The node's private key, parsed once (PEM parsing costs more than the RSA signature of a small message). */
  private signingKey(): KeyObject {
    const pem = this.node.credentials.keyPem;
    if (this.key?.pem !== pem) this.key = { pem, key: createPrivateKey(pem) };
    return this.key.key;
  }

  outStream(): StreamDefinition {
    return {
      name: streamName('FEDOUT'),
      subjects: [Subjects.federationAll()],
      duplicateWindowMs: HOUR,
      maxAgeMs: this.config.FEDERATION_RETENTION_MS,
    };
  }

  get inboundStream(): string {
    return streamName(`FEDIN_${this.nodeId}`);
  }

  private streamsReady?: Promise<void>;

  async onApplicationBootstrap(): Promise<void> {
    await this.ready();
  }

  /** FEDOUT and FEDIN exist (declared once, whichever bootstrap hook asks first). */
  ready(): Promise<void> {
    this.streamsReady ??= (async () => {
      await this.js.ensureStream(this.outStream());
      await this.ensureInbound();
    })().catch((e) => {
      this.streamsReady = undefined;
      throw e;
    });
    return this.streamsReady;
  }

  /** The sources of FEDIN: the local FEDOUT and/or the FEDOUT of each peer domain. */
  sources(): StreamSource[] {
    const peers = this.config.federationPeers;
    const domains = new Set(peers.map((p) => p.domain));
    if (peers.length === 0) domains.add(undefined);
    return [...domains].map((domain) => ({
      name: this.outStream().name,
      filter_subject: Subjects.federationTo(this.nodeId),
      // Deliveries arrive on a prefix naming this node and the peer: the hub lets a leaf receive only its own.
      ...(domain
        ? { external: { api: jsApi(domain), deliver: sourceDeliveryPrefix(this.nodeId, domain) } }
        : {}),
    }));
  }

  /** FEDIN sources what sources() says (an update when not: a changed FEDERATION_PEERS, a source lost). */
  async ensureInbound(): Promise<void> {
    const sources = this.sources();
    const changed = await this.js.ensureSourcedStream({
      name: this.inboundStream,
      sources,
      maxAgeMs: this.config.FEDERATION_RETENTION_MS,
      duplicateWindowMs: HOUR,
    });
    if (changed)
      this.logger.log(
        `federation inbound ${this.inboundStream} sources: ${sources.map((s) => s.external?.api ?? 'local').join(', ')}`,
      );
  }

  /**
   * Builds a signed message to `toNodeId`. A package above FEDERATION_PART_BYTES / 2 is published now as
   * raw parts, before the caller's transaction adds the message itself to the outbox; the parts therefore
   * precede it in the stream. The transfer id is random (a caller's `transferId` is ignored): a peer that
   * could guess it could publish parts under it first and have the genuine package refused as corrupt.
   * A retried call makes a new transfer; only the message that commits names one, the others expire.
   */
  async message(
    toNodeId: string,
    body: FederationBody,
    pkg?: { bytes: Buffer; transferId?: string } | { file: PackageFileRef; transferId?: string },
  ): Promise<NodeInboundEvent> {
    const ev: NodeInboundEvent = { ...body, fromNodeId: this.nodeId, toNodeId };
    if (pkg) {
      const partBytes = this.config.FEDERATION_PART_BYTES;
      const size = 'bytes' in pkg ? pkg.bytes.length : pkg.file.size;
      if (size <= partBytes / 2) {
        const bytes = 'bytes' in pkg ? pkg.bytes : await readFile(pkg.file.path);
        ev.packageBase64 = bytes.toString('base64');
      } else {
        const parts = Math.ceil(size / partBytes);
        const transferId = randomUUID();
        const hash = createHash('sha256');
        // A package in a file is read one part at a time: only FEDERATION_PART_BYTES are in memory.
        const fh = 'file' in pkg ? await open(pkg.file.path, 'r') : undefined;
        try {
          for (let i = 0; i < parts; i++) {
            let chunk: Buffer;
            if ('bytes' in pkg) chunk = pkg.bytes.subarray(i * partBytes, (i + 1) * partBytes);
            else {
              chunk = Buffer.allocUnsafe(Math.min(partBytes, size - i * partBytes));
              let got = 0;
              while (got < chunk.length) {
                const { bytesRead } = await fh!.read(chunk, got, chunk.length - got, i * partBytes + got);
                if (bytesRead === 0) throw new Error(`package file ${pkg.file.path} is shorter than ${size}`);
                got += bytesRead;
              }
            }
            hash.update(chunk);
            await this.js.js.publish(Subjects.federationPart(toNodeId, this.nodeId, transferId, i), chunk, {
              msgID: `${this.nodeId}.${transferId}.${i}`,
            });
          }
        } finally {
          await fh?.close();
        }
        ev.transfer = { id: transferId, parts, size, sha256: hash.digest('hex') };
      }
    }
    ev.proof = {
      certificate: this.certificateBase64,
      signature: sign('sha256', signedBytes(ev), this.signingKey()).toString('base64'),
    };
    return ev;
  }

  /** Adds a message to the outbox (same transaction as the state change it reports). */
  async send(m: EntityManager, id: string, ev: NodeInboundEvent): Promise<void> {
    await this.outbox.add(m, {
      subject: Subjects.federationOut(ev.toNodeId),
      type: 'bus.node-inbound',
      id,
      data: ev,
    });
  }

  /**
   * Authenticates a received message — a trusted, valid node certificate naming `fromNodeId` signed it —
   * and reassembles its package. Throws FederationRefusal for messages to refuse; other errors are retried.
   */
  async open(ev: NodeInboundEvent): Promise<OpenedMessage> {
    if (ev.toNodeId !== this.nodeId)
      throw new FederationRefusal(
        'NODE_MISADDRESSED',
        `message for node ${ev.toNodeId} reached ${this.nodeId}`,
      );
    if (!ev.proof?.certificate || !ev.proof.signature)
      throw new FederationRefusal('SIGNATURE_MISSING', 'message has no node signature');
    let cert: X509Certificate;
    try {
      cert = certificateOf(ev.proof.certificate);
    } catch {
      throw new FederationRefusal('SIGNATURE_INVALID', 'unreadable node certificate');
    }
    const fingerprint = createHash('sha256').update(cert.raw).digest('hex');
    if (!this.trustedFingerprints.has(fingerprint))
      throw new FederationRefusal(
        'SIGNATURE_UNTRUSTED',
        `node certificate ${cert.subject.replace(/\n/g, ', ')} is not in the trust list`,
      );
    const now = Date.now();
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo))
      throw new FederationRefusal('CERTIFICATE_EXPIRED', 'node certificate is not valid now');
    let ok = false;
    try {
      ok = verify('sha256', signedBytes(ev), cert.publicKey, Buffer.from(ev.proof.signature, 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) throw new FederationRefusal('SIGNATURE_INVALID', 'node signature does not verify');
    const named = nodeIdOfCertificate(cert);
    if (named !== ev.fromNodeId)
      throw new FederationRefusal(
        'NODE_MISMATCH',
        `certificate names node ${named ?? '?'}, message claims ${ev.fromNodeId}`,
      );
    const signer = cert.subject.replace(/\n/g, ', ');
    if (ev.packageBase64 !== undefined) return { signer, package: Buffer.from(ev.packageBase64, 'base64') };
    if (ev.transfer) return { signer, package: this.parts(ev.fromNodeId, ev.transfer) };
    return { signer };
  }

  /**
   * A transfer's parts in order, read one at a time (only one part is in memory), hashed as they pass; the
   * descriptor is checked before. Parts are read only under the subject of the node that signed the message
   * (authenticated above). A reader (edxml.reader.ts) takes them as they come: the package is never whole.
   */
  private parts(fromNodeId: string, t: NonNullable<NodeInboundEvent['transfer']>): AsyncIterable<Uint8Array> {
    if (!/^[0-9a-f-]{36}$/.test(t.id) || !Number.isInteger(t.parts) || t.parts < 1 || t.parts > 10_000) {
      throw new FederationRefusal('TRANSFER_INVALID', 'malformed transfer descriptor');
    }
    // Never more than an edXML package may be, whatever the descriptor claims.
    const max = this.config.EDXML_MAX_BYTES;
    if (!Number.isInteger(t.size) || t.size < 1 || t.size > max)
      throw new FederationRefusal(
        'TRANSFER_TOO_LARGE',
        `transfer ${t.id} declares ${t.size} bytes (limit ${max})`,
      );
    const stream = this.inboundStream;
    const nodeId = this.nodeId;
    const js = this.js;
    return (async function* () {
      const jsm = await js.manager();
      const hash = createHash('sha256');
      let received = 0;
      for (let i = 0; i < t.parts; i++) {
        // A missing part is retried (the message is redelivered with back-off): parts precede their message.
        const msg = await jsm.streams.getMessage(stream, {
          last_by_subj: Subjects.federationPart(nodeId, fromNodeId, t.id, i),
        });
        if (!msg) throw new Error(`part ${i} of transfer ${t.id} has not arrived`);
        received += msg.data.length;
        if (received > t.size)
          throw new FederationRefusal('TRANSFER_CORRUPT', `transfer ${t.id} is longer than it declares`);
        hash.update(msg.data);
        yield msg.data;
      }
      if (received !== t.size || hash.digest('hex') !== t.sha256)
        throw new FederationRefusal('TRANSFER_CORRUPT', `transfer ${t.id} does not match its size and hash`);
    })();
  }

  /** Drops a transfer's parts once its package is applied (they would expire anyway). */
  async release(ev: NodeInboundEvent): Promise<void> {
    if (!ev.transfer) return;
    try {
      const jsm = await this.js.manager();
      await jsm.streams.purge(this.inboundStream, {
        filter: Subjects.federationParts(this.nodeId, ev.fromNodeId, ev.transfer.id),
      });
    } catch (e) {
      this.logger.warn(`could not purge the parts of transfer ${ev.transfer.id}: ${(e as Error).message}`);
    }
  }
}
