import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { performance } from 'node:perf_hooks';

type GcFunction = (options?: {
  type?: 'major' | 'minor';
  execution?: 'sync' | 'async';
  flavor?: string;
}) => void;

/** Event-loop utilisation under which a second counts as idle (background pollers stay below it). */
const IDLE_UTILIZATION = 0.1;
/** At most one full collection per this long, however often the process alternates busy and idle. */
const FULL_COLLECTION_SPACING_MS = 60_000;
/** Young generation (both semi-spaces) above which an idle process tries to shrink it. */
const YOUNG_SHRINK_ABOVE_BYTES = 4 * 2 ** 20;
/** How long into an idle period scavenges are tried to shrink the young generation. */
const YOUNG_SHRINK_FOR_MS = 30_000;

/** The `gc` function of a fresh context, --expose-gc being set only for that moment (the process's own global
 * gets no `gc`, and no V8 flag stays changed); undefined when the runtime does not allow it. */
function obtainGc(): GcFunction | undefined {
  const own = (globalThis as { gc?: GcFunction }).gc;
  if (typeof own === 'function') return own;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as GcFunction) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0;
}

/**
 * Gives memory back when the service goes idle, as V8's memory reducer does in a browser (Node never starts
 * it): start-up (~2,500 modules, the DI graph) and any burst of load grow the young generation to its maximum
 * (two 16 MB semi-spaces) and leave garbage in the old one; an idle process allocates too little to collect
 * either, so all of it stayed resident (issue 12: idle RSS).
 *
 * Checked every second (an unref'd timer). The first idle second after activity (start-up counts) runs one
 * memory-reducing full collection (V8's "last resort" flavour; at most one a minute). While idle, a young
 * generation still above 4 MB gets a scavenge, and V8 shrinks it once the allocation rate of the last seconds
 * is low (tried for the first 30 s of an idle period; each takes well under a millisecond with nothing young
 * alive). A second with the event loop over 10 % utilised is busy: nothing is collected then, so throughput
 * under load is unchanged, and the young generation grows back as soon as load needs it. Returns the function
 * that stops it.
 */
export function compactWhenIdle(intervalMs = 1000): () => void {
  const gc = obtainGc();
  if (!gc) return () => undefined;
  let busy = true;
  let lastFull = -Infinity;
  const maxTries = Math.ceil(YOUNG_SHRINK_FOR_MS / intervalMs);
  let tries = 0;
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (utilization > IDLE_UTILIZATION) {
      busy = true;
      return;
    }
    if (busy) {
      busy = false;
      tries = 0;
      if (performance.now() - lastFull >= FULL_COLLECTION_SPACING_MS) {
        lastFull = performance.now();
        gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      }
    } else if (tries < maxTries && youngGenerationBytes() > YOUNG_SHRINK_ABOVE_BYTES) {
      tries++;
      gc({ type: 'minor' });
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
