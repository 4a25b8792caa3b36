import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
} from '@opentelemetry/api';
import type { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

/** The W3C header name, the same in HTTP and NATS headers. */
export const TRACEPARENT_HEADER = 'traceparent';

let provider: BasicTracerProvider | undefined;

/**
 * Starts the tracer when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (OTLP/HTTP JSON to `<endpoint>/v1/traces`).
 * Without it nothing is started: every helper below then returns at its first line, so tracing costs
 * nothing and adds no header. Called by the service bootstrap before Nest builds anything. Idempotent.
 */
export function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (provider) return true;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint) return false;
  // The SDK (exporter, OTLP transformer, metrics, resources, semantic conventions: ~200 modules, ~2.5 MB of
  // source) is loaded only here, when tracing is on: a service without an endpoint never loads it.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { AsyncLocalStorageContextManager } =
    require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { Resource } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BasicTracerProvider, BatchSpanProcessor } =
    require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { ATTR_SERVICE_NAME } =
    require('@opentelemetry/semantic-conventions') as typeof import('@opentelemetry/semantic-conventions');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
  provider = new BasicTracerProvider({
    resource: new Resource({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME?.trim() || service }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 })],
  });
  // Async-context propagation is what makes a span opened by the HTTP middleware the parent of whatever
  // the request's handler does later (the unit of work reads it when it writes the outbox row).
  // The default propagator is W3C trace context (plus baggage).
  provider.register({ contextManager: new AsyncLocalStorageContextManager() });
  return true;
}

export function tracingEnabled(): boolean {
  return provider !== undefined;
}

/** Exports what is buffered (tests, shutdown). */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush();
}

/** Flushes and stops the exporter; tracing is off afterwards. */
export async function stopTracing(): Promise<void> {
  const p = provider;
  provider = undefined;
  if (!p) return;
  await p.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
}

export function tracer() {
  return trace.getTracer('lienthong');
}

/** The active span's `traceparent`, or undefined when tracing is off or no span is active. */
export function currentTraceparent(): string | undefined {
  if (!provider || !trace.getSpan(context.active())) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier[TRACEPARENT_HEADER];
}

/** The context a remote `traceparent` describes (the root context when absent or malformed). */
export function contextFromTraceparent(traceparent: string | undefined | null): Context {
  if (!provider || !traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { [TRACEPARENT_HEADER]: traceparent });
}

/** The span context of a remote `traceparent`, for links (undefined when invalid). */
export function linkFromTraceparent(traceparent: string | undefined | null): Link | undefined {
  const sc = trace.getSpanContext(contextFromTraceparent(traceparent));
  return sc && trace.isSpanContextValid(sc) ? { context: sc } : undefined;
}

export interface SpanOptions {
  kind?: SpanKind;
  /** The remote parent's `traceparent`; without it the active context is the parent. */
  parent?: string | null;
  links?: Link[];
  attributes?: Attributes;
}

/**
 * Runs `fn` inside a new active span, ended when `fn` settles (status error on a throw). With tracing off it
 * is just `fn()`.
 */
export function inSpan<T>(name: string, opts: SpanOptions, fn: () => Promise<T>): Promise<T> {
  if (!provider) return fn();
  const parent = opts.parent !== undefined ? contextFromTraceparent(opts.parent) : context.active();
  return tracer().startActiveSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, links: opts.links, attributes: opts.attributes },
    parent,
    async (span) => {
      try {
        return await fn();
      } catch (e) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error)?.message });
        throw e;
      } finally {
        span.end();
      }
    },
  );
}

export { SpanKind };
