import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Tokens } from '../model';
import type { ServiceName } from '../transport';

/** What `lienthong login` keeps for the next commands. */
export interface CliConfig {
  baseUrl?: string;
  urls?: Partial<Record<ServiceName, string>>;
  grpcAddress?: string;
  grpcTls?: boolean;
  tokens?: Tokens;
  /** Who logged in (shown by whoami; never a password or a client secret). */
  principal?: string;
}

/** --config, else $LIENTHONG_CONFIG, else $XDG_CONFIG_HOME/lienthong/config.json (~/.config by default). */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.LIENTHONG_CONFIG) return env.LIENTHONG_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'lienthong', 'config.json');
}

export function readConfig(file: string): CliConfig {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CliConfig;
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Written to a temporary file with mode 0600 and renamed: the tokens are never readable by others. */
export function writeConfig(file: string, config: CliConfig): void {
  const dir = dirname(file);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function removeConfigTokens(file: string): void {
  const c = readConfig(file);
  if (!existsSync(file)) return;
  delete c.tokens;
  delete c.principal;
  if (Object.keys(c).length) writeConfig(file, c);
  else rmSync(file);
}
