// Small helpers shared by the bench scripts.

/** `--name <number>` from the command line, or `def`. */
export const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};

/** The p-th percentile (nearest rank) of a list of numbers. */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** percentile, rounded; null for an empty list. */
export const pct = (xs, p) => (xs.length ? Math.round(percentile(xs, p)) : null);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A one-line progress bar on stderr. */
export const progress = (label, done, total, width = 30) => {
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r  ${label.padEnd(26)} [${'█'.repeat(filled)}${'·'.repeat(width - filled)}] ${done}/${total}   `,
  );
  if (done >= total) process.stderr.write('\n');
};
