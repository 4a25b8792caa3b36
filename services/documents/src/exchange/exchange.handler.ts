import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { JetStreamService, settleAll, type ConsumedMessage } from '@lienthong/common';
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
        batchSize: 8,
      },
      // Deliveries are independent: each claims its deliveryId and takes one register-counter row lock, so a
      // batch runs concurrently (attachment fetches and inserts overlap; arrival numbers still follow commit
      // order). A failed batch is retried one message at a time by JetStreamService.
      async (batch: ConsumedMessage<DocumentDeliveryEvent>[]) => {
        await settleAll(batch.map((msg) => this.exchange.applyDelivery(msg.envelope.data)));
      },
    );
    await this.js.consume<DocumentStatusEvent>(
      { stream, durable: CONSUMERS.status, filterSubject: Subjects.busStatus(), maxDeliver: 10 },
      async (batch) => {
        for (const msg of batch) await this.exchange.applyStatus(msg.envelope.data);
      },
    );
    await this.js.consume<ExchangeStateEvent>(
      {
        stream,
        durable: CONSUMERS.exchangeState,
        filterSubject: Subjects.busExchangeState(),
        maxDeliver: 10,
      },
      async (batch) => {
        for (const msg of batch) await this.exchange.applyExchangeState(msg.envelope.id, msg.envelope.data);
      },
    );
  }
}
