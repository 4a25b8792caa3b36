import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Histogram, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from './metrics.registry';

/**
 * `http_request_duration_seconds` of every request that matched a route, observed when its response is
 * finished (so the status is the one sent, error responses included). A middleware rather than a global
 * interceptor: any global interceptor puts every request through Nest's interceptor chain (rxjs, an
 * AsyncResource per level), a measurable share of a small request's CPU.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  private readonly histogram: Histogram<string>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.histogram = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  }

  use(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      // Only requests a route handled (as before: unmatched paths add no label values).
      const route = (req.route as { path?: string } | undefined)?.path;
      if (route === undefined) return;
      this.histogram.observe(
        { method: req.method, route, status: String(res.statusCode) },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  }
}
