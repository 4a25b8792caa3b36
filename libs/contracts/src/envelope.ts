/** Body of every durable event: the id is also the JetStream `Nats-Msg-Id`. */
export interface EventEnvelope<T = unknown> {
  id: string;
  type: string;
  occurredAt: string;
  correlationId?: string;
  source: string;
  data: T;
}
