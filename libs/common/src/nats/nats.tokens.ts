export const NATS_CONNECTION = Symbol('NATS_CONNECTION');
export const SERVICE_IDENTITY = Symbol('SERVICE_IDENTITY');

export interface ServiceIdentity {
  service: string;
  nodeId: string;
  version: string;
  startedAt: number;
}
