/** Body of every durable event: the id is also the JetStream `Nats-Msg-Id`. */
export interface EventEnvelope<T = unknown> {
  id: string;
  type: string;
  occurredAt: string;
  correlationId?: string;
  /**
   * W3C trace context of the span that produced the event (only when tracing is on). Kept in the envelope
   * so that it survives the outbox; the publisher also sends it as the `traceparent` NATS header.
   */
  traceparent?: string;
  source: string;
  data: T;
}
