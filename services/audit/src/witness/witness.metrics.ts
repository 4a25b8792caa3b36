import { Inject, Injectable, Logger } from '@nestjs/common';
import { METRICS_REGISTRY, sharedLoad } from '@lienthong/common';
import { Gauge, type Registry } from 'prom-client';
import { WitnessRepository } from './witness.repository';

/** Witness verdicts per node, read from the witness tables when Prometheus scrapes. */
@Injectable()
export class WitnessMetrics {
  private readonly logger = new Logger(WitnessMetrics.name);

  constructor(@Inject(METRICS_REGISTRY) registry: Registry, witness: WitnessRepository) {
    const logger = this.logger;
    const nodes = sharedLoad(() =>
      witness.nodes().catch((e: Error) => {
        logger.debug(`witness metrics unavailable: ${e.message}`);
        return null;
      }),
    );
    new Gauge({
      name: 'audit_witness_checkpoints',
      help: 'Checkpoints of other nodes this witness judged, by verdict (cosigned or refused)',
      labelNames: ['node', 'verdict'],
      registers: [registry],
      async collect() {
        const rows = await nodes();
        if (!rows) return;
        this.reset();
        for (const n of rows) {
          this.set({ node: n.node_id, verdict: 'cosigned' }, Number(n.cosigned));
          this.set({ node: n.node_id, verdict: 'refused' }, Number(n.refused));
        }
      },
    });
    new Gauge({
      name: 'audit_witness_inconsistent_checkpoints',
      help: 'Checkpoints of a node this witness refused as INCONSISTENT (a forked or rewritten log)',
      labelNames: ['node'],
      registers: [registry],
      async collect() {
        const rows = await nodes();
        if (!rows) return;
        this.reset();
        for (const n of rows) this.set({ node: n.node_id }, Number(n.inconsistent));
      },
    });
  }
}
