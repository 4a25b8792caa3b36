import { Inject, Injectable, Logger } from '@nestjs/common';
import { METRICS_REGISTRY } from '@lienthong/common';
import { Gauge, type Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { NationalAxisService } from '../national-axis/national-axis.service';

/** States an exchange leaves again; `delivered` (the bulk of the table) is not counted on every scrape. */
const OPEN_STATES = ['queued', 'sending', 'sent', 'failed', 'expired', 'dead'];

/** The queries behind the exchange gauges (kept apart from ExchangesRepository, which serves the pipeline). */
@Injectable()
export class ExchangeMetricsRepository {
  constructor(private readonly ds: DataSource) {}

  async countsByStateAndRoute(): Promise<{ state: string; route: string; n: number }[]> {
    const rows = (await this.ds.query(
      `SELECT state, route, count(*)::bigint AS n FROM exchanges WHERE state = ANY($1) GROUP BY state, route`,
      [OPEN_STATES],
    )) as { state: string; route: string; n: string }[];
    return rows.map((r) => ({ ...r, n: Number(r.n) }));
  }

  /** Per route, how long the oldest exchange still waiting to be sent has waited. */
  async oldestWaitingByRoute(): Promise<{ route: string; age: number }[]> {
    const rows = (await this.ds.query(
      `SELECT route, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age
         FROM exchanges WHERE state IN ('queued', 'sending') GROUP BY route`,
    )) as { route: string; age: number }[];
    return rows.map((r) => ({ route: r.route, age: Number(r.age) }));
  }
}

/**
 * Exchange backlog and age, and the national axis circuit, computed when Prometheus scrapes: the state lives in
 * the exchanges table and the axis client, so there is nothing to keep in step.
 */
@Injectable()
export class ExchangeMetrics {
  private readonly logger = new Logger(ExchangeMetrics.name);

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    repo: ExchangeMetricsRepository,
    axis: NationalAxisService,
  ) {
    const logger = this.logger;
    new Gauge({
      name: 'bus_exchanges',
      help: 'Exchanges by state and route (delivered ones are not counted)',
      labelNames: ['state', 'route'],
      registers: [registry],
      async collect() {
        try {
          const rows = await repo.countsByStateAndRoute();
          this.reset();
          for (const r of rows) this.set({ state: r.state, route: r.route }, r.n);
        } catch (e) {
          logger.debug(`exchange metrics unavailable: ${(e as Error).message}`);
        }
      },
    });
    new Gauge({
      name: 'bus_exchange_oldest_waiting_seconds',
      help: 'Age of the oldest exchange still queued or sending, by route',
      labelNames: ['route'],
      registers: [registry],
      async collect() {
        try {
          const rows = await repo.oldestWaitingByRoute();
          this.reset();
          for (const r of rows) this.set({ route: r.route }, r.age);
        } catch (e) {
          logger.debug(`exchange age metrics unavailable: ${(e as Error).message}`);
        }
      },
    });
    new Gauge({
      name: 'national_axis_circuit_open',
      // Half-open (one probe allowed after the cool-down) still counts: the last calls failed, and the poller's
      // probe would otherwise make the gauge flicker and an alert with `for:` never fire.
      help: '1 while the circuit breaker towards the national axis is open or half-open (after repeated failures)',
      registers: [registry],
      collect() {
        // Absent when no national axis is configured, so no alert can fire for a route that does not exist.
        if (axis.client) this.set(axis.client.breaker.state === 'closed' ? 0 : 1);
      },
    });
  }
}
