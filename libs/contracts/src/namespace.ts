/**
 * Every NATS subject and stream name is qualified by a namespace so that several platforms (or several
 * test files) can share one NATS server without hearing each other. It is read once, at load time,
 * because Nest's @MessagePattern decorators need their subject when the class is declared.
 * This is the only place outside a service's validated config that reads the environment.
 */
const raw = process.env.LT_NAMESPACE ?? 'lt';
if (!/^[a-zA-Z0-9_-]{1,32}$/.test(raw)) {
  throw new Error(`LT_NAMESPACE must match [a-zA-Z0-9_-]{1,32}, got "${raw}"`);
}
export const NAMESPACE: string = raw;

export function qualify(subject: string): string {
  return `${NAMESPACE}.${subject}`;
}

export function streamName(base: string): string {
  return `${NAMESPACE.replace(/[^a-zA-Z0-9_-]/g, '_')}_${base}`.toUpperCase();
}
