import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import {
  JetStreamService,
  OutboxService,
  PoisonMessageError,
  ProcessedMessages,
  settleAll,
} from '@lienthong/common';
import {
  Streams,
  Subjects,
  type NodeInboundEvent,
  type SignedCheckpointMessage,
  type WitnessCosignedEvent,
} from '@lienthong/contracts';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { OrganizationDirectory } from '../directory/organization-directory';
import {
  EdxmlError,
  invalid,
  readEdxml,
  type EdxmlPackage,
  type ReadEdxml,
  type SignatureCheck,
} from '../edxml';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { derivedUuid } from '../exchanges/routed-document';
import { ExchangesService } from '../exchanges/exchanges.service';
import { type IntakeOptions } from '../exchanges/package-intake.service';
import { FederationLink, FederationRefusal } from './federation-link';

/** A package's signature check as recorded (without the certificate fingerprint). */
type PackageSignature = Omit<SignatureCheck, 'fingerprint'>;

export const FEDERATION_CONSUMERS = {
  inbound: (node: string) => `bus-${node}-federation`,
  witnessOut: (node: string) => `bus-${node}-witness-out`,
  witnessBack: (node: string) => `bus-${node}-witness-back`,
} as const;

/**
 * Applies what other nodes send (packages, statuses, audit checkpoints for the witness, the witness's
 * answers) after authenticating the sending node, and forwards this node's own checkpoints to the witness.
 */
@Injectable()
export class FederationHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger(FederationHandler.name);
  /** When this process last took an authenticated message from each node (GET /api/v1/exchanges/links). */
  readonly lastMessageAt = new Map<string, string>();

  constructor(
    private readonly js: JetStreamService,
    private readonly link: FederationLink,
    private readonly exchanges: ExchangesService,
    private readonly directory: OrganizationDirectory,
    private readonly outbox: OutboxService,
    private readonly processed: ProcessedMessages,
    private readonly node: EdxmlNodeService,
    private readonly config: IntegrationBusConfig,
  ) {}

  private get nodeId(): string {
    return this.config.NODE_ID;
  }

  /** The node witnessing this node's checkpoints; the witness itself has none (or names itself). */
  private get witnessNode(): string | undefined {
    const w = this.config.FEDERATION_WITNESS_NODE;
    return w && w !== this.nodeId ? w : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    const backoffMs = [1000, 5000, 15000, 60000];
    await this.link.ready();
    await this.js.consume<NodeInboundEvent>(
      {
        stream: this.link.inboundStream,
        durable: FEDERATION_CONSUMERS.inbound(this.nodeId),
        filterSubject: Subjects.federationOut(this.nodeId),
        maxDeliver: 200,
        backoffMs,
        // A backlog after a link outage arrives all at once: large batches, their packages applied
        // concurrently (one transaction each), keep the database busy while this process verifies signatures.
        batchSize: 64,
        // Two batches at once: the next batch's signature checks run while this one's transaction commits.
        // Transactions still commit in stream order (inOrder).
        concurrentBatches: 2,
      },
      // Packages are independent (own rows and claims), so those of a batch are applied concurrently — a
      // backlog after a link outage drains several times faster. Everything else keeps stream order: a node's
      // checkpoints must reach the witness in the order they were signed. A failed batch is retried one
      // message at a time by JetStreamService; claims make that idempotent.
      async (batch) => {
        const isPackage = (m: (typeof batch)[number]) => m.envelope.data?.kind === 'package';
        const others = batch.filter((x) => !isPackage(x));
        await settleAll([
          this.applyPackages(batch.filter(isPackage).map((m) => m.envelope.data)),
          this.inOrder('others', async () => {
            for (const m of others) await this.onMessage(m.envelope.data, m.envelope.id);
          }),
        ]);
      },
    );
    await this.js.ensureStream(Streams.witness());
    await this.js.consume<SignedCheckpointMessage>(
      {
        stream: Streams.witness().name,
        durable: FEDERATION_CONSUMERS.witnessOut(this.nodeId),
        filterSubject: Subjects.witnessCheckpointSigned(),
        backoffMs,
      },
      async (batch) => {
        for (const m of batch) await this.forwardCheckpoint(m.envelope.data, m.envelope.id);
      },
    );
    await this.js.consume<WitnessCosignedEvent>(
      {
        stream: Streams.witness().name,
        durable: FEDERATION_CONSUMERS.witnessBack(this.nodeId),
        filterSubject: Subjects.witnessCosigned(),
        backoffMs,
      },
      async (batch) => {
        for (const m of batch) await this.returnCosignature(m.envelope.data, m.envelope.id);
      },
    );
  }

  /** One message from another node; refusals are audited and acknowledged, other failures retried. */
  async onMessage(ev: NodeInboundEvent, messageId: string): Promise<void> {
    if (!ev || typeof ev !== 'object' || typeof ev.kind !== 'string')
      throw new PoisonMessageError('federation message without a kind');
    try {
      const opened = await this.link.open(ev);
      this.lastMessageAt.set(ev.fromNodeId, new Date().toISOString());
      switch (ev.kind) {
        case 'package':
          await this.applyPackage(ev, opened.package);
          break;
        case 'status':
          await this.applyStatus(ev, messageId);
          break;
        case 'statuses':
          await this.applyStatuses(ev, messageId);
          break;
        case 'checkpoint':
          await this.submitCheckpoint(ev, messageId);
          break;
        case 'cosigned':
          await this.applyCosignature(ev, messageId);
          break;
        default:
          throw new FederationRefusal('KIND_UNKNOWN', `unknown federation message kind ${String(ev.kind)}`);
      }
      await this.link.release(ev);
    } catch (e) {
      if (!(await this.refused(ev, e))) throw e;
    }
  }

  /** Only organizations served by the sending node may send through it. */
  private async assertServedBy(code: string, node: string): Promise<void> {
    const o = await this.directory.get(code);
    if (!o || o.nodeId !== node) {
      throw new FederationRefusal(
        'ORGANIZATION_NOT_SERVED_BY_NODE',
        `organization ${code} is not served by node ${node}`,
      );
    }
  }

  private async applyPackage(
    ev: NodeInboundEvent,
    source?: Buffer | AsyncIterable<Uint8Array>,
  ): Promise<void> {
    const { pkg, signature, read } = await this.checkPackage(ev, source);
    try {
      await this.exchanges.receivePackage(pkg, 'federation', this.intakeOptions(ev, signature));
    } finally {
      await read.cleanup();
    }
  }

  /**
   * The packages of a batch: each authenticated, reassembled, signature-checked and parsed (refusals audited
   * and acknowledged as in onMessage), then all the accepted ones received in ONE transaction.
   */
  async applyPackages(events: NodeInboundEvent[]): Promise<void> {
    if (events.length === 0) return;
    const accepted: {
      ev: NodeInboundEvent;
      pkg: EdxmlPackage;
      signature: PackageSignature;
      read: ReadEdxml;
    }[] = [];
    try {
      for (const ev of events) {
        try {
          const opened = await this.link.open(ev);
          this.lastMessageAt.set(ev.fromNodeId, new Date().toISOString());
          accepted.push({ ev, ...(await this.checkPackage(ev, opened.package)) });
        } catch (e) {
          if (!(await this.refused(ev, e))) throw e;
        }
      }
      try {
        // After the previous batch's packages committed: an original and its recall or update in two
        // consecutive batches are applied in that order.
        await this.inOrder('packages', async () => {
          if (accepted.length === 0) return;
          await this.exchanges.receivePackages(
            accepted.map((a) => ({ pkg: a.pkg, opts: this.intakeOptions(a.ev, a.signature) })),
            'federation',
          );
        });
      } catch (e) {
        // A package refused while being applied: alone, it is refused as in onMessage; in a batch, the batch
        // is split (JetStreamService) until it is alone.
        if (accepted.length === 1 && (await this.refused(accepted[0].ev, e))) return;
        throw e;
      }
      // Stored: the decoded attachments' files go now, then the transfers' parts.
      const stored = accepted.splice(0);
      await settleAll(stored.map((a) => a.read.cleanup()));
      for (const a of stored) await this.link.release(a.ev);
    } finally {
      // Attachments decoded to EDXML_TEMP_DIR are in the object store (or refused) by now.
      await settleAll(accepted.map((a) => a.read.cleanup()));
    }
  }

  /** The tail of each ordered lane of the inbound consumer (its batches may overlap, see concurrentBatches). */
  private readonly lanes = new Map<'packages' | 'others', Promise<unknown>>();

  /**
   * Runs `fn` after everything queued before on the same lane settled (whether it failed or not): the
   * consumer's overlapping batches apply their packages, and their other messages, in stream order.
   */
  private inOrder(lane: 'packages' | 'others', fn: () => Promise<void>): Promise<void> {
    const previous = this.lanes.get(lane) ?? Promise.resolve();
    const mine = previous.then(fn, fn);
    this.lanes.set(
      lane,
      mine.catch(() => undefined),
    );
    return mine;
  }

  /** A refusal is audited and its parts released (true); any other error is left to the caller (false). */
  private async refused(ev: NodeInboundEvent, e: unknown): Promise<boolean> {
    if (!(e instanceof FederationRefusal || e instanceof EdxmlError)) return false;
    this.logger.error(`federation ${ev.kind} from node ${ev.fromNodeId} refused: ${e.code} ${e.message}`);
    await this.exchanges.auditRejected(e.code, {
      origin: 'federation',
      node: ev.fromNodeId,
      kind: ev.kind,
      documentId: ev.sourceDocumentId,
      problem: e.message.slice(0, 300),
    });
    await this.link.release(ev);
    return true;
  }

  private intakeOptions(ev: NodeInboundEvent, signature: PackageSignature): IntakeOptions {
    return {
      signature,
      sourceDocumentId: ev.sourceDocumentId,
      onlyLocal: true,
      actor: { sub: `node:${ev.fromNodeId}`, organizationCode: null, type: 'system' },
    };
  }

  /** The package's edXML signature is a trusted node's, it parses, and its sender is served by that node. */
  /**
   * A package from another node, read as it streams (edxml.reader.ts): its parts are never gathered, its
   * attachments are decoded to EDXML_TEMP_DIR above EDXML_IN_MEMORY_BYTES, and its signature is checked on
   * the way (exclusive c14n digest while reading). The caller cleans the read up once the package is stored.
   */
  private async checkPackage(
    ev: NodeInboundEvent,
    source?: Buffer | AsyncIterable<Uint8Array>,
  ): Promise<{ pkg: EdxmlPackage; signature: PackageSignature; read: ReadEdxml }> {
    if (!source) throw new FederationRefusal('PACKAGE_MISSING', 'package message without a package');
    const read = await readEdxml(source, this.node.readerOptions());
    try {
      const signature = read.signature;
      if (!signature.present || !signature.valid || !signature.trusted) {
        const reason = !signature.present
          ? 'SIGNATURE_MISSING'
          : !signature.valid
            ? 'SIGNATURE_INVALID'
            : 'SIGNATURE_UNTRUSTED';
        throw new FederationRefusal(
          reason,
          `edXML signature: ${signature.problem ?? reason} (${signature.signer ?? 'no signer'})`,
        );
      }
      if (read.message.kind !== 'package') throw invalid('edXML', 'is missing (a status message was sent)');
      const pkg = read.message.package;
      await this.assertServedBy(pkg.from.organId, ev.fromNodeId);
      const { fingerprint: _f, ...sig } = signature;
      return { pkg, signature: sig, read };
    } catch (e) {
      await read.cleanup();
      throw e;
    }
  }

  private async applyStatus(ev: NodeInboundEvent, messageId: string): Promise<void> {
    if (!ev.status) throw new FederationRefusal('STATUS_MISSING', 'status message without a status');
    await this.assertServedBy(ev.status.fromOrganizationCode, ev.fromNodeId);
    await this.exchanges.applyRemoteStatus(ev.status, FEDERATION_CONSUMERS.inbound(this.nodeId), messageId);
  }

  private async applyStatuses(ev: NodeInboundEvent, messageId: string): Promise<void> {
    if (!Array.isArray(ev.statuses) || ev.statuses.length === 0)
      throw new FederationRefusal('STATUS_MISSING', 'statuses message without statuses');
    // Every answer's receiver must be served by the sending node, or the whole message is refused.
    for (const s of ev.statuses) {
      if (!s || typeof s !== 'object' || typeof s.fromOrganizationCode !== 'string')
        throw new FederationRefusal('STATUS_MISSING', 'statuses message with a malformed status');
      await this.assertServedBy(s.fromOrganizationCode, ev.fromNodeId);
    }
    await this.exchanges.statuses.applyNodeStatuses(
      ev.statuses,
      FEDERATION_CONSUMERS.inbound(this.nodeId),
      messageId,
    );
  }

  /** On the witness: the checkpoint goes to the local audit service, with the authenticated node id. */
  private async submitCheckpoint(ev: NodeInboundEvent, messageId: string): Promise<void> {
    if (this.witnessNode)
      throw new FederationRefusal('NOT_A_WITNESS', `node ${this.nodeId} does not witness checkpoints`);
    if (!ev.checkpoint)
      throw new FederationRefusal('CHECKPOINT_MISSING', 'checkpoint message without a checkpoint');
    const data = { ...ev.checkpoint, nodeId: ev.fromNodeId };
    await this.exchanges.repo.dataSource.transaction(async (m) => {
      if (!(await this.processed.claim(m, FEDERATION_CONSUMERS.inbound(this.nodeId), messageId))) return;
      await this.outbox.add(m, {
        subject: Subjects.witnessSubmitted(),
        type: 'witness.submitted',
        id: derivedUuid(`witness-submitted|${messageId}`),
        data,
      });
    });
  }

  /** On a node: the witness's answer about one of our checkpoints goes to the local audit service. */
  private async applyCosignature(ev: NodeInboundEvent, messageId: string): Promise<void> {
    if (!ev.cosigned)
      throw new FederationRefusal('COSIGNATURE_MISSING', 'cosigned message without a cosignature');
    if (ev.fromNodeId !== this.witnessNode || ev.cosigned.nodeId !== this.nodeId) {
      throw new FederationRefusal('NOT_OUR_WITNESS', `node ${ev.fromNodeId} is not this node's witness`);
    }
    await this.exchanges.repo.dataSource.transaction(async (m) => {
      if (!(await this.processed.claim(m, FEDERATION_CONSUMERS.inbound(this.nodeId), messageId))) return;
      await this.outbox.add(m, {
        subject: Subjects.witnessCosigned(),
        type: 'witness.cosigned',
        id: derivedUuid(`witness-cosigned|${messageId}`),
        data: ev.cosigned!,
      });
    });
  }

  /** This node's audit service signed a checkpoint: it travels to the witness node. */
  async forwardCheckpoint(checkpoint: SignedCheckpointMessage, messageId: string): Promise<void> {
    const witness = this.witnessNode;
    if (!witness) return;
    const ev = await this.link.message(witness, { kind: 'checkpoint', checkpoint });
    await this.exchanges.repo.dataSource.transaction(async (m) => {
      if (!(await this.processed.claim(m, FEDERATION_CONSUMERS.witnessOut(this.nodeId), messageId))) return;
      await this.link.send(m, derivedUuid(`federation-checkpoint|${messageId}`), ev);
    });
  }

  /** On the witness: an answer about another node's checkpoint travels back to that node. */
  async returnCosignature(cosigned: WitnessCosignedEvent, messageId: string): Promise<void> {
    if (cosigned.nodeId === this.nodeId || this.witnessNode) return;
    const ev = await this.link.message(cosigned.nodeId, { kind: 'cosigned', cosigned });
    await this.exchanges.repo.dataSource.transaction(async (m) => {
      if (!(await this.processed.claim(m, FEDERATION_CONSUMERS.witnessBack(this.nodeId), messageId))) return;
      await this.link.send(m, derivedUuid(`federation-cosigned|${messageId}`), ev);
    });
  }
}
