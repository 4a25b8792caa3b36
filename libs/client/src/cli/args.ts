import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ServiceName } from '../transport';

/** Bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Connection {
  baseUrl?: string;
  urls: Partial<Record<ServiceName, string>>;
  grpcAddress?: string;
  grpcTls?: boolean;
  configFile?: string;
}

interface Common {
  connection: Connection;
  json: boolean;
}

export interface LoginArgs extends Common {
  command: 'login';
  username?: string;
  passwordStdin: boolean;
  otp?: string;
  clientId?: string;
  clientSecretStdin: boolean;
}

export interface SendArgs extends Common {
  command: 'send';
  to: string[];
  file: string;
  number?: string;
  notation: string;
  type: string;
  typeName?: string;
  subject?: string;
  content?: string;
  promulgationDate?: string;
  promulgationPlace?: string;
  dueDate?: string;
  signerName?: string;
  signerPosition: string;
  signerCompetence?: string;
  secrecy: 'none' | 'confidential' | 'secret' | 'top-secret';
  urgency: 'normal' | 'urgent' | 'very-urgent' | 'flash';
  steering: boolean;
  progress: boolean;
}

export interface InboxArgs extends Common {
  command: 'inbox';
  status?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}

export interface AcceptArgs extends Common {
  command: 'accept';
  id: string;
}

export interface WatchArgs extends Common {
  command: 'watch';
  cursor?: string;
  events: string[];
  intervalMs: number;
}

export interface SimpleArgs extends Common {
  command: 'logout' | 'whoami';
}

export interface HelpArgs {
  command: 'help';
  topic?: string;
}

export type CliArgs = LoginArgs | SendArgs | InboxArgs | AcceptArgs | WatchArgs | SimpleArgs | HelpArgs;

const COMMANDS = ['login', 'logout', 'whoami', 'send', 'inbox', 'accept', 'watch'] as const;
export const ORGANIZATION_CODE = /^[0-9A-Z]+(\.[0-9A-Z]+)*$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const SECRECY = ['none', 'confidential', 'secret', 'top-secret'] as const;
const URGENCY = ['normal', 'urgent', 'very-urgent', 'flash'] as const;

type Options = NonNullable<ParseArgsConfig['options']>;
const COMMON: Options = {
  url: { type: 'string' },
  'identity-url': { type: 'string' },
  'documents-url': { type: 'string' },
  'bus-url': { type: 'string' },
  'audit-url': { type: 'string' },
  grpc: { type: 'string' },
  'grpc-tls': { type: 'boolean' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const OPTIONS: Record<(typeof COMMANDS)[number], Options> = {
  login: {
    username: { type: 'string', short: 'u' },
    'password-stdin': { type: 'boolean' },
    otp: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret-stdin': { type: 'boolean' },
  },
  logout: {},
  whoami: {},
  send: {
    to: { type: 'string', multiple: true },
    number: { type: 'string' },
    notation: { type: 'string' },
    type: { type: 'string' },
    'type-name': { type: 'string' },
    subject: { type: 'string' },
    content: { type: 'string' },
    date: { type: 'string' },
    place: { type: 'string' },
    'due-date': { type: 'string' },
    'signer-name': { type: 'string' },
    'signer-position': { type: 'string' },
    'signer-competence': { type: 'string' },
    secrecy: { type: 'string' },
    urgency: { type: 'string' },
    steering: { type: 'boolean' },
    'no-progress': { type: 'boolean' },
  },
  inbox: {
    status: { type: 'string' },
    q: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  },
  accept: {},
  watch: {
    cursor: { type: 'string' },
    events: { type: 'string' },
    interval: { type: 'string' },
  },
};

/**
 * `--to A B C file.pdf` → `--to A --to B --to C file.pdf`: the values after `--to` that look like organization
 * codes (dot-separated groups of 0-9A-Z) belong to it; a file name never does (it has a lower-case extension).
 */
export function expandVariadicTo(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--to' || a.startsWith('--to=')) {
      const first = a === '--to' ? argv[++i] : a.slice('--to='.length);
      if (first === undefined) throw new UsageError('--to needs at least one organization code', 'send');
      for (const code of first.split(',').filter(Boolean)) out.push('--to', code);
      while (i + 1 < argv.length && ORGANIZATION_CODE.test(argv[i + 1])) out.push('--to', argv[++i]);
      continue;
    }
    out.push(a);
  }
  return out;
}

/** Parses `lienthong <command> …` (argv without node and the script). Throws UsageError. */
export function parseCli(argv: string[]): CliArgs {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    return { command: 'help', topic: command === 'help' ? rest[0] : undefined };
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(`unknown command "${command}" (commands: ${COMMANDS.join(', ')})`);
  }
  const name = command as (typeof COMMANDS)[number];
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: name === 'send' ? expandVariadicTo(rest) : rest,
      options: { ...COMMON, ...OPTIONS[name] },
      allowPositionals: true,
      strict: true,
    }) as typeof parsed;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message.replace(/^TypeError \[\w+\]: /, ''), name);
  }
  const v = parsed.values;
  if (v.help) return { command: 'help', topic: name };
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const common: Common = { connection: connectionOf(str, v['grpc-tls'] === true), json: v.json === true };
  const positionals = parsed.positionals;
  const noPositionals = () => {
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`, name);
  };

  switch (name) {
    case 'login': {
      noPositionals();
      if (v['client-secret-stdin'] && !str('client-id')) {
        throw new UsageError('--client-secret-stdin needs --client-id', name);
      }
      if (str('client-id') && str('username')) {
        throw new UsageError('give either --username (a person) or --client-id (a connected system)', name);
      }
      return {
        command: 'login',
        ...common,
        username: str('username'),
        passwordStdin: v['password-stdin'] === true,
        otp: str('otp'),
        clientId: str('client-id'),
        clientSecretStdin: v['client-secret-stdin'] === true,
      };
    }
    case 'logout':
    case 'whoami':
      noPositionals();
      return { command: name, ...common };
    case 'send': {
      const to = (v.to as string[] | undefined) ?? [];
      if (!to.length) throw new UsageError('--to CODE… is required (the recipient organizations)', name);
      const bad = to.find((c) => !ORGANIZATION_CODE.test(c));
      if (bad) throw new UsageError(`--to ${bad}: not an organization code (e.g. 000.01.00.P01)`, name);
      if (positionals.length !== 1) {
        throw new UsageError(
          positionals.length ? `one file only, got ${positionals.join(' ')}` : 'the file to send is missing',
          name,
        );
      }
      for (const k of ['date', 'due-date']) {
        if (str(k) !== undefined && !DATE.test(str(k)!))
          throw new UsageError(`--${k} must be YYYY-MM-DD`, name);
      }
      return {
        command: 'send',
        ...common,
        to: [...new Set(to)],
        file: positionals[0],
        number: str('number'),
        notation: str('notation') ?? 'CV',
        type: str('type') ?? 'CV',
        typeName: str('type-name') ?? (str('type') === undefined ? 'Công văn' : undefined),
        subject: str('subject'),
        content: str('content'),
        promulgationDate: str('date'),
        promulgationPlace: str('place'),
        dueDate: str('due-date'),
        signerName: str('signer-name'),
        signerPosition: str('signer-position') ?? 'Chánh Văn phòng',
        signerCompetence: str('signer-competence'),
        secrecy: oneOf('secrecy', str('secrecy') ?? 'none', SECRECY, name),
        urgency: oneOf('urgency', str('urgency') ?? 'normal', URGENCY, name),
        steering: v.steering === true,
        progress: v['no-progress'] !== true,
      };
    }
    case 'inbox': {
      noPositionals();
      const limit = str('limit');
      if (limit !== undefined && !/^\d+$/.test(limit)) throw new UsageError('--limit must be a number', name);
      return {
        command: 'inbox',
        ...common,
        status: str('status'),
        q: str('q'),
        limit: limit === undefined ? undefined : Number(limit),
        cursor: str('cursor'),
      };
    }
    case 'accept':
      if (positionals.length !== 1) throw new UsageError('give the id of one incoming document', name);
      return { command: 'accept', ...common, id: positionals[0] };
    case 'watch': {
      noPositionals();
      const interval = str('interval') ?? '5';
      if (!/^\d+(\.\d+)?$/.test(interval) || Number(interval) <= 0) {
        throw new UsageError('--interval must be a positive number of seconds', name);
      }
      return {
        command: 'watch',
        ...common,
        cursor: str('cursor'),
        events: (str('events') ?? '').split(',').filter(Boolean),
        intervalMs: Math.round(Number(interval) * 1000),
      };
    }
  }
}

function connectionOf(str: (k: string) => string | undefined, grpcTls: boolean): Connection {
  const urls: Partial<Record<ServiceName, string>> = {};
  for (const [flag, service] of [
    ['identity-url', 'identity'],
    ['documents-url', 'documents'],
    ['bus-url', 'integration-bus'],
    ['audit-url', 'audit'],
  ] as const) {
    const u = str(flag);
    if (u !== undefined) urls[service] = checkedUrl(flag, u);
  }
  const url = str('url');
  return {
    baseUrl: url === undefined ? undefined : checkedUrl('url', url),
    urls,
    grpcAddress: str('grpc'),
    grpcTls: grpcTls || undefined,
    configFile: str('config'),
  };
}

function checkedUrl(flag: string, value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return value.replace(/\/+$/, '');
  } catch {
    throw new UsageError(`--${flag} ${value}: not an http(s) URL`);
  }
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[], command: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}`, command);
  }
  return value as T;
}

export const USAGE: Record<string, string> = {
  main: `lienthong — the Liên thông platform from the command line

usage: lienthong <command> [options]

  login     log in (password or client credentials); the token is kept in the config file
  send      create a document, upload its file with a progress bar, send it
  inbox     list incoming documents
  accept    accept an incoming document (status 03)
  watch     stream the organization's document events (gRPC Watch; polling when the server lacks it)
  whoami    who the stored token belongs to
  logout    revoke the stored tokens and forget them

connection (any command; login stores them for the next commands):
  --url URL            the one origin (default http://127.0.0.1:3000)
  --identity-url URL, --documents-url URL, --bus-url URL, --audit-url URL   per-service URLs
  --grpc HOST:PORT     the documents service's gRPC (default: the URL's host, port 50052)
  --grpc-tls           gRPC over TLS
  --config FILE        the config file (default $LIENTHONG_CONFIG or ~/.config/lienthong/config.json)
  --json               machine-readable output

lienthong help <command> for a command's options. Exit codes: 0 done, 1 refused or unreachable, 2 bad usage.`,
  login: `usage: lienthong login [--username NAME [--password-stdin] [--otp CODE]] [--url URL …]
       lienthong login --client-id ID [--client-secret-stdin] [--url URL …]

The password comes from standard input (--password-stdin), else $LIENTHONG_PASSWORD, else a prompt; a client
secret from --client-secret-stdin, else $LIENTHONG_CLIENT_SECRET, else a prompt. The tokens (and the URLs
given) are written to the config file with mode 0600; a refresh token is used when the access token expires.`,
  send: `usage: lienthong send --to CODE [CODE…] FILE [options]

  --to CODE…             recipient organization codes (repeat --to, list them after it, or comma-separate)
  --number N             the office's number for the document (required; prompted for on a terminal)
  --notation X           ký hiệu (default CV)          --type T   type code (default CV, "Công văn")
  --type-name NAME       --subject TEXT (default: the file name without its extension)
  --date YYYY-MM-DD      promulgation date (default today)     --place PLACE   promulgation place
  --signer-name NAME     the signer (required; prompted for on a terminal)
  --signer-position P    (default "Chánh Văn phòng")   --signer-competence C
  --secrecy none|confidential|secret|top-secret (default none; classified documents are refused with 422)
  --urgency normal|urgent|very-urgent|flash (default normal)   --due-date YYYY-MM-DD   --steering
  --no-progress          no progress bar on standard error`,
  inbox: `usage: lienthong inbox [--status STATUS] [--q TEXT] [--limit N] [--cursor C] [--json]`,
  accept: `usage: lienthong accept ID      (ID of an incoming document, as inbox lists it)`,
  watch: `usage: lienthong watch [--cursor C] [--events document.incoming,document.status,…] [--interval SECONDS] [--json]

Streams events from the documents service's gRPC Watch, resumable with --cursor (the last event's cursor is
printed). When the server does not implement Watch, it says so on standard error and polls
GET /api/v1/documents?direction=incoming every --interval seconds (default 5).`,
  whoami: `usage: lienthong whoami [--json]`,
  logout: `usage: lienthong logout`,
};
