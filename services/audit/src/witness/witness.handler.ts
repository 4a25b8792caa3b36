import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { JetStreamService, PoisonMessageError } from '@lienthong/common';
import { Streams, Subjects, type WitnessCosignedEvent } from '@lienthong/contracts';
import { AuditConfig } from '../config/audit.config';
import { COSIGNED_CONSUMER, CosignatureService } from './cosignature.service';
import { WITNESS_CONSUMER, WitnessService } from './witness.service';
import { parseSubmission, UnusableSubmissionError } from './witness.verify';

/** Durable consumers of the witness stream; each message is committed before it is acked. */
@Injectable()
export class WitnessHandler implements OnApplicationBootstrap {
  constructor(
    private readonly js: JetStreamService,
    private readonly witness: WitnessService,
    private readonly cosignatures: CosignatureService,
    private readonly config: AuditConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const stream = Streams.witness().name;
    await this.js.ensureStream(Streams.witness());
    if (this.config.AUDIT_WITNESS_ENABLED) {
      await this.js.consume(
        { stream, durable: WITNESS_CONSUMER, filterSubject: Subjects.witnessSubmitted(), maxDeliver: 10 },
        async (batch) => {
          for (const msg of batch) {
            let sub;
            try {
              sub = parseSubmission(msg.envelope.data);
            } catch (e) {
              if (e instanceof UnusableSubmissionError) throw new PoisonMessageError(e.message);
              throw e;
            }
            await this.witness.witness(sub);
          }
        },
      );
    }
    await this.js.consume<WitnessCosignedEvent>(
      { stream, durable: COSIGNED_CONSUMER, filterSubject: Subjects.witnessCosigned(), maxDeliver: 10 },
      async (batch) => {
        for (const msg of batch) await this.cosignatures.receive(msg.envelope.data, msg.envelope.id);
      },
    );
  }
}
