import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { JetStreamService, PoisonMessageError } from '@lienthong/common';
import { Streams, Subjects, type DocumentSendRequestedEvent, type DocumentStatusEvent, type NodeInboundEvent } from '@lienthong/contracts';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { EdxmlError, parsePackage, verifyPackage } from '../edxml';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { NationalAxisService } from '../national-axis/national-axis.service';
import { CONSUMERS, ExchangesService } from './exchanges.service';
import { BusObjectStore } from './object-store';

/** Durable consumers of the bus; each handler commits before its message is acknowledged. */
@Injectable()
export class ExchangesHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger(ExchangesHandler.name);

  constructor(
    private readonly js: JetStreamService,
    private readonly exchanges: ExchangesService,
    private readonly axis: NationalAxisService,
    private readonly store: BusObjectStore,
    private readonly node: EdxmlNodeService,
    private readonly config: IntegrationBusConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const nodeId = this.config.NODE_ID;
    await this.js.ensureStream(Streams.documents());
    const documents = Streams.documents().name;
    const backoffMs = [1000, 5000, 15000, 60000];
    await this.js.consume<DocumentSendRequestedEvent>(
      { stream: documents, durable: CONSUMERS.send(nodeId), filterSubject: Subjects.documentSendRequested(), maxDeliver: 20, backoffMs },
      async (batch) => {
        for (const m of batch) await this.exchanges.onSendRequested(m.envelope.data, m.envelope.id);
      },
    );
    await this.js.consume<DocumentSendRequestedEvent>(
      { stream: documents, durable: CONSUMERS.recall(nodeId), filterSubject: Subjects.documentRecallRequested(), maxDeliver: 20, backoffMs },
      async (batch) => {
        for (const m of batch) await this.exchanges.onSendRequested({ ...m.envelope.data, businessType: 1 }, m.envelope.id);
      },
    );
    // Statuses to the national axis are sent inside the handler: while the axis is down the message is
    // redelivered with back-off (JetStream keeps it), so up to 100 deliveries ≈ 1.5 hours.
    await this.js.consume<DocumentStatusEvent>(
      { stream: documents, durable: CONSUMERS.status(nodeId), filterSubject: Subjects.documentStatusChanged(), maxDeliver: 100, backoffMs },
      async (batch) => {
        for (const m of batch) await this.exchanges.onReceiverStatus(m.envelope.data, m.envelope.id, (s, to) => this.axis.sendStatus(s, to));
      },
    );
    await this.js.consume<NodeInboundEvent>(
      { stream: Streams.bus().name, durable: CONSUMERS.inbound(nodeId), filterSubject: Subjects.nodeInbound(nodeId), maxDeliver: 20, backoffMs },
      async (batch) => {
        for (const m of batch) await this.onNodeInbound(m.envelope.data, m.envelope.id);
      },
    );
  }

  /** Federation: a signed package or a status from another node. */
  async onNodeInbound(ev: NodeInboundEvent, messageId: string): Promise<void> {
    if (ev.kind === 'status' && ev.status) {
      await this.exchanges.applyRemoteStatus(ev.status, CONSUMERS.inbound(this.config.NODE_ID), messageId);
      return;
    }
    if (ev.kind !== 'package' || !ev.packageKey) throw new PoisonMessageError('node inbound event without a package');
    const bytes = await this.store.get(ev.packageKey);
    const xml = bytes.toString('utf8');
    try {
      const signature = verifyPackage(xml, this.node.trusted, this.node.limits.maxBytes);
      if (!signature.present || !signature.valid || !signature.trusted) {
        const reason = !signature.present ? 'SIGNATURE_MISSING' : !signature.valid ? 'SIGNATURE_INVALID' : 'SIGNATURE_UNTRUSTED';
        this.logger.error(`federation package from node ${ev.fromNodeId} refused: ${reason} ${signature.problem ?? ''}`);
        await this.exchanges.auditRejected(reason, { origin: 'federation', node: ev.fromNodeId, documentId: ev.sourceDocumentId, problem: signature.problem, signer: signature.signer });
        return;
      }
      const { package: pkg } = parsePackage(bytes, this.node.limits);
      const { fingerprint: _f, ...sig } = signature;
      await this.exchanges.receivePackage(pkg, 'federation', {
        signature: sig,
        sourceDocumentId: ev.sourceDocumentId,
        onlyLocal: true,
        actor: { sub: `node:${ev.fromNodeId}`, organizationCode: null, type: 'system' },
      });
    } catch (e) {
      if (e instanceof EdxmlError) {
        await this.exchanges.auditRejected(e.code, { origin: 'federation', node: ev.fromNodeId, element: e.element, message: e.message });
        return;
      }
      throw e;
    }
  }
}
