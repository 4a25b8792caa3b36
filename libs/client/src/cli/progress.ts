import type { UploadProgress } from '../client';

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;

/**
 * An upload progress bar on standard error: redrawn in place on a terminal, a line per quarter otherwise (a
 * log or a pipe stays readable). Always ends with a 100 % line.
 */
export function progressBar(
  stream: NodeJS.WriteStream,
  label: string,
): {
  update: (p: UploadProgress) => void;
  done: () => void;
} {
  const tty = stream.isTTY === true;
  let lastQuarter = -1;
  let last: UploadProgress = { sent: 0, total: 0 };
  let lastDraw = 0;
  const line = (p: UploadProgress) => {
    const pct = p.total ? Math.floor((p.sent / p.total) * 100) : 100;
    const width = 30;
    const fill = Math.round((pct / 100) * width);
    return `${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${mb(p.sent)}/${mb(p.total)}`;
  };
  return {
    update(p) {
      last = p;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 80 && p.sent < p.total) return;
        lastDraw = now;
        stream.write(`\r${line(p)}`);
        return;
      }
      const quarter = p.total ? Math.floor((p.sent / p.total) * 4) : 4;
      if (quarter > lastQuarter && quarter < 4) {
        lastQuarter = quarter;
        stream.write(`${line(p)}\n`);
      }
    },
    done() {
      const final = { sent: last.total, total: last.total };
      stream.write(tty ? `\r${line(final)}\n` : `${line(final)}\n`);
    },
  };
}
