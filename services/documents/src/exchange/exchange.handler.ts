import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { JetStreamService, type ConsumedMessage } from '@lienthong/common';
import {
  Streams,
  Subjects,
  type DocumentDeliveryEvent,
  type DocumentStatusEvent,
  type ExchangeStateEvent,
} from '@lienthong/contracts';
import { CONSUMERS, ExchangeService } from './exchange.service';

/** Durable consumers of the bus's events; each handler commits before JetStream is acked. */
@Injectable()
export class ExchangeHandler implements OnApplicationBootstrap {
  constructor(
    private readonly js: JetStreamService,
    private readonly exchange: ExchangeService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const stream = Streams.bus().name;
    await this.js.ensureStream(Streams.bus());
    await this.js.consume<DocumentDeliveryEvent>(
      {
        stream,
        durable: CONSUMERS.delivery,
        filterSubject: Subjects.busDelivery(),
        maxDeliver: 10,
        batchSize: 128,
      },
      // A batch is one transaction (set-based inserts, one counter update per register); a failed batch is
      // split by JetStreamService until the poison message is alone. Arrival numbers follow stream order.
      async (batch: ConsumedMessage<DocumentDeliveryEvent>[]) => {
        await this.exchange.applyDeliveries(batch.map((msg) => msg.envelope.data));
      },
    );
    await this.js.consume<DocumentStatusEvent>(
      {
        stream,
        durable: CONSUMERS.status,
        filterSubject: Subjects.busStatus(),
        maxDeliver: 10,
        batchSize: 256,
      },
      async (batch) => {
        await this.exchange.applyStatuses(batch.map((msg) => msg.envelope.data));
      },
    );
    await this.js.consume<ExchangeStateEvent>(
      {
        stream,
        durable: CONSUMERS.exchangeState,
        filterSubject: Subjects.busExchangeState(),
        maxDeliver: 10,
        batchSize: 256,
      },
      async (batch) => {
        await this.exchange.applyExchangeStates(
          batch.map((msg) => ({ messageId: msg.envelope.id, ev: msg.envelope.data })),
        );
      },
    );
  }
}
