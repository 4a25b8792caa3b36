import { Inject, Injectable, Logger } from '@nestjs/common';
import { METRICS_REGISTRY } from '@lienthong/common';
import { Gauge, type Registry } from 'prom-client';
import { WitnessRepository } from './witness.repository';

/** Witness verdicts per node, read from the witness tables when Prometheus scrapes. */
@Injectable()
export class WitnessMetrics {
  private readonly logger = new Logger(WitnessMetrics.name);

  constructor(@Inject(METRICS_REGISTRY) registry: Registry, witness: WitnessRepository) {
    const logger = this.logger;
    const inconsistent = new Gauge({
      name: 'audit_witness_inconsistent_checkpoints',
      help: 'Checkpoints of a node this witness refused as INCONSISTENT (a forked or rewritten log)',
      labelNames: ['node'],
      registers: [registry],
    });
    new Gauge({
      name: 'audit_witness_checkpoints',
      help: 'Checkpoints of other nodes this witness judged, by verdict (cosigned or refused)',
      labelNames: ['node', 'verdict'],
      registers: [registry],
      async collect() {
        try {
          const nodes = await witness.nodes();
          this.reset();
          inconsistent.reset();
          for (const n of nodes) {
            this.set({ node: n.node_id, verdict: 'cosigned' }, Number(n.cosigned));
            this.set({ node: n.node_id, verdict: 'refused' }, Number(n.refused));
            inconsistent.set({ node: n.node_id }, Number(n.inconsistent));
          }
        } catch (e) {
          logger.debug(`witness metrics unavailable: ${(e as Error).message}`);
        }
      },
    });
  }
}
