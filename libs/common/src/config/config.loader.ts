import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';
import { readFileSync } from 'node:fs';

export class ConfigValidationError extends Error {
  constructor(
    public readonly service: string,
    public readonly problems: { key: string; problems: string[] }[],
  ) {
    super(
      `Invalid configuration for ${service}:\n` +
        problems.map((p) => `  - ${p.key}: ${p.problems.join('; ')}`).join('\n'),
    );
    this.name = 'ConfigValidationError';
  }
}

function flatten(errors: ValidationError[], prefix = ''): { key: string; problems: string[] }[] {
  return errors.flatMap((e) => {
    const key = prefix ? `${prefix}.${e.property}` : e.property;
    const own = e.constraints ? [{ key, problems: Object.values(e.constraints) }] : [];
    return [...own, ...flatten(e.children ?? [], key)];
  });
}

/**
 * Builds and validates a service's configuration from the environment, once, at boot. Every bad key is
 * reported together so an operator fixes them in one pass. Values never appear in the message (they
 * may be secrets).
 */
export function loadConfig<T extends object>(
  cls: new () => T,
  env: Record<string, string | undefined> = process.env,
  service = cls.name,
): T {
  const plain: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && v !== '') plain[k] = v;
  }
  const fileProblems = readFileSecrets(cls, plain);
  const instance = plainToInstance(cls, plain, { exposeDefaultValues: true });
  const errors = validateSync(instance, { whitelist: false, forbidUnknownValues: false });
  const problems = [...fileProblems, ...flatten(errors), ...productionSecretProblems(cls, plain)];
  if (problems.length > 0) throw new ConfigValidationError(service, problems);
  return instance;
}

/**
 * A config class lists, in `static PRODUCTION_SECRETS`, the secrets it would otherwise generate for
 * development (each entry: keys of which one must be set). With NODE_ENV=production a missing one stops the
 * boot, so a node never runs on a throwaway key-encryption key, audit signing key or node certificate.
 */
export function productionSecretProblems(
  cls: unknown,
  env: Record<string, string>,
): { key: string; problems: string[] }[] {
  if (env.NODE_ENV !== 'production') return [];
  const groups = (cls as { PRODUCTION_SECRETS?: readonly (readonly string[])[] }).PRODUCTION_SECRETS ?? [];
  return groups
    .filter((keys) => !keys.some((k) => env[k] !== undefined && env[k] !== ''))
    .map((keys) => ({
      key: keys.join(' or '),
      problems: ['required when NODE_ENV=production (development would generate a throwaway one)'],
    }));
}

/**
 * A config class lists, in `static FILE_SECRETS`, the secrets that may also come from a file: `<KEY>_FILE` is
 * a path whose content (without its trailing newline) becomes `<KEY>` before validation, so a secret mounted
 * as a file (docker compose's `dev-secrets` volume, a Kubernetes Secret) is checked like one given inline.
 * `<KEY>` itself, when set, wins over `<KEY>_FILE`. An unreadable or empty file is a problem of `<KEY>_FILE`
 * (never its content in the message).
 */
export function readFileSecrets(
  cls: unknown,
  env: Record<string, string>,
): { key: string; problems: string[] }[] {
  const keys = (cls as { FILE_SECRETS?: readonly string[] }).FILE_SECRETS ?? [];
  const problems: { key: string; problems: string[] }[] = [];
  for (const key of keys) {
    const path = env[`${key}_FILE`];
    if (path === undefined || env[key] !== undefined) continue;
    let text: string;
    try {
      text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      problems.push({
        key: `${key}_FILE`,
        problems: [`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`],
      });
      continue;
    }
    if (text === '') problems.push({ key: `${key}_FILE`, problems: [`${path} is empty`] });
    else env[key] = text;
  }
  return problems;
}
