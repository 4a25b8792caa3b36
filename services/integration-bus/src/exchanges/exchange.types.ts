import type { AuditInput } from '@lienthong/common';
import type { ExchangeState, Route } from './exchanges.repository';

export type Origin = 'documents' | 'api' | 'national-axis' | 'federation';
export interface ReceiveAnswer {
  documentId: string;
  exchanges: { id: string; to: string; route: Route; state: ExchangeState }[];
}
export type Actor = AuditInput['actor'];

export const CONSUMERS = {
  send: (node: string) => `bus-${node}-send`,
  recall: (node: string) => `bus-${node}-recall`,
  status: (node: string) => `bus-${node}-status`,
  axisStatus: 'national-axis-status',
} as const;

export function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
}
