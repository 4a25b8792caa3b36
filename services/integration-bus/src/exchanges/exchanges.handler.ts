import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { JetStreamService } from '@lienthong/common';
import {
  documentStatusesOf,
  Streams,
  Subjects,
  type DocumentSendRequestedEvent,
  type DocumentStatusEvent,
} from '@lienthong/contracts';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { NationalAxisService } from '../national-axis/national-axis.service';
import { ExchangeRouting } from './exchange-routing.service';
import { CONSUMERS } from './exchange.types';
import { StatusRelay } from './status-relay.service';

/** Durable consumers of the bus; each handler commits before its message is acknowledged. */
@Injectable()
export class ExchangesHandler implements OnApplicationBootstrap {
  constructor(
    private readonly js: JetStreamService,
    private readonly routing: ExchangeRouting,
    private readonly statuses: StatusRelay,
    private readonly axis: NationalAxisService,
    private readonly config: IntegrationBusConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const nodeId = this.config.NODE_ID;
    await this.js.ensureStream(Streams.documents());
    const documents = Streams.documents().name;
    const backoffMs = [1000, 5000, 15000, 60000];
    await this.js.consume<DocumentSendRequestedEvent>(
      {
        stream: documents,
        durable: CONSUMERS.send(nodeId),
        filterSubject: Subjects.documentSendRequested(),
        maxDeliver: 20,
        backoffMs,
        batchSize: 32,
      },
      // A batch is routed in one transaction (a failed batch is retried one message at a time by
      // JetStreamService; claims make that idempotent).
      async (batch) => {
        await this.routing.onSendRequestedMany(
          batch.map((m) => ({
            ev: m.envelope.data,
            messageId: m.envelope.id,
            correlationId: m.envelope.correlationId,
          })),
        );
      },
    );
    await this.js.consume<DocumentSendRequestedEvent>(
      {
        stream: documents,
        durable: CONSUMERS.recall(nodeId),
        filterSubject: Subjects.documentRecallRequested(),
        maxDeliver: 20,
        backoffMs,
      },
      async (batch) => {
        for (const m of batch)
          await this.routing.onSendRequested({ ...m.envelope.data, businessType: 1 }, m.envelope.id);
      },
    );
    // Statuses to the national axis are sent inside the handler: while the axis is down the message is
    // redelivered with back-off (JetStream keeps it), so up to 100 deliveries ≈ 1.5 hours.
    await this.js.consume<DocumentStatusEvent>(
      {
        stream: documents,
        durable: CONSUMERS.status(nodeId),
        filterSubject: Subjects.documentStatusChanged(),
        maxDeliver: 100,
        backoffMs,
        batchSize: 256,
      },
      async (batch) => {
        // A `document.status-changed-batch` message carries several statuses, each claimed by its statusId.
        await this.statuses.onReceiverStatuses(
          batch.flatMap((m) => documentStatusesOf(m.envelope)),
          (s, to) => this.axis.sendStatus(s, to),
        );
      },
    );
  }
}
