import { STATUS_CODES } from '@lienthong/contracts';

/**
 * Receiver-side statuses of an incoming document (national codes). A document is accepted or rejected on
 * arrival; accepted documents are assigned and processed (assignment may be skipped or repeated, a
 * reassignment may happen while processing); completed, rejected and recalled are final.
 */
const NEXT: Record<string, string[]> = {
  arrived: ['accepted', 'rejected'],
  accepted: ['assigned', 'processing', 'completed'],
  assigned: ['assigned', 'processing', 'completed'],
  processing: ['assigned', 'completed'],
  completed: [],
  rejected: [],
  recalled: [],
};

export function canTransition(from: string, to: string): boolean {
  return (NEXT[from] ?? []).includes(to);
}

export function statusCode(status: string): string | null {
  return (STATUS_CODES as Record<string, string>)[status] ?? null;
}
