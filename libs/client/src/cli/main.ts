import { existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { LienthongClient } from '../client';
import { LienthongApiError } from '../errors';
import type { DocumentView } from '../model';
import { DEFAULT_BASE_URL, LienthongNetworkError } from '../transport';
import { watchEvents } from '../watch';
import { parseCli, USAGE, UsageError, type CliArgs, type Connection, type SendArgs } from './args';
import { configPath, readConfig, removeConfigTokens, writeConfig, type CliConfig } from './config';
import { progressBar } from './progress';

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
}

/** Runs one command; resolves to the exit code (0 done, 1 refused or unreachable, 2 bad usage). */
export async function main(argv: string[], io: CliIo = process): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCli(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`lienthong: ${e.message}\n\n${USAGE[e.command ?? 'main']}\n`);
    return 2;
  }
  if (args.command === 'help') {
    io.stdout.write(`${USAGE[args.topic ?? 'main'] ?? USAGE.main}\n`);
    return 0;
  }
  const file = configPath(args.connection.configFile, io.env);
  let client: LienthongClient | undefined;
  try {
    const config = readConfig(file);
    client = clientFor(args.connection, config, args.command === 'login' ? undefined : file);
    switch (args.command) {
      case 'login':
        return await login(args, client, config, file, io);
      case 'logout':
        if (client.tokens) await client.auth.logout().catch(() => undefined);
        removeConfigTokens(file);
        io.stderr.write('✔ logged out\n');
        return 0;
      default:
        if (!client.tokens) {
          throw new UsageError(`not logged in (no token in ${file}): run \`lienthong login\` first`);
        }
    }
    switch (args.command) {
      case 'whoami': {
        const me = await client.auth.me();
        io.stdout.write(
          args.json
            ? `${JSON.stringify(me)}\n`
            : `${me.username ?? me.sub} (${me.type}) of ${me.organizationCode}, roles: ${me.roles.join(', ')}\n`,
        );
        return 0;
      }
      case 'send':
        return await send(args, client, io);
      case 'inbox': {
        const page = await client.documents.incoming({
          status: args.status as never,
          q: args.q,
          limit: args.limit,
          cursor: args.cursor,
        });
        if (args.json) io.stdout.write(`${JSON.stringify(page)}\n`);
        else io.stdout.write(inboxTable(page.items, page.nextCursor));
        return 0;
      }
      case 'accept': {
        const d = await client.documents.accept(args.id);
        io.stdout.write(
          args.json ? `${JSON.stringify(d)}\n` : `✔ ${args.id} accepted (status ${d.status ?? 'accepted'})\n`,
        );
        return 0;
      }
      case 'watch':
        return await watch(args, client, io);
    }
    return 2;
  } catch (e) {
    io.stderr.write(`lienthong: ${explain(e, args.connection)}\n`);
    return e instanceof UsageError ? 2 : 1;
  } finally {
    client?.close();
  }
}

/** The client from the flags, else what login stored, else the defaults; refreshed tokens are stored again. */
function clientFor(connection: Connection, config: CliConfig, persistTo?: string): LienthongClient {
  return new LienthongClient({
    baseUrl: connection.baseUrl ?? config.baseUrl ?? DEFAULT_BASE_URL,
    urls: { ...config.urls, ...connection.urls },
    grpcAddress: connection.grpcAddress ?? config.grpcAddress,
    grpcTls: connection.grpcTls ?? config.grpcTls,
    tokens: config.tokens,
    onTokens: persistTo
      ? (tokens) => writeConfig(persistTo, { ...readConfig(persistTo), tokens })
      : undefined,
  });
}

async function login(
  args: Extract<CliArgs, { command: 'login' }>,
  client: LienthongClient,
  config: CliConfig,
  file: string,
  io: CliIo,
): Promise<number> {
  let principal: string;
  if (args.clientId) {
    const secret = args.clientSecretStdin
      ? await readStdin(io.stdin)
      : (io.env.LIENTHONG_CLIENT_SECRET ?? (await ask(io, `client secret of ${args.clientId}: `, true)));
    await client.auth.loginClient(args.clientId, secret);
    principal = `client ${args.clientId}`;
  } else {
    const username = args.username ?? io.env.LIENTHONG_USERNAME ?? (await ask(io, 'username: ', false));
    const password = args.passwordStdin
      ? await readStdin(io.stdin)
      : (io.env.LIENTHONG_PASSWORD ?? (await ask(io, `password of ${username}: `, true)));
    await client.auth.login(username, password, args.otp);
    principal = username;
  }
  const c = args.connection;
  writeConfig(file, {
    ...config,
    ...(c.baseUrl ? { baseUrl: c.baseUrl } : {}),
    ...(Object.keys(c.urls).length ? { urls: { ...config.urls, ...c.urls } } : {}),
    ...(c.grpcAddress ? { grpcAddress: c.grpcAddress } : {}),
    ...(c.grpcTls ? { grpcTls: true } : {}),
    tokens: client.tokens,
    principal,
  });
  io.stderr.write(`✔ logged in as ${principal} at ${client.baseUrl}; token stored in ${file}\n`);
  return 0;
}

async function send(args: SendArgs, client: LienthongClient, io: CliIo): Promise<number> {
  if (!existsSync(args.file) || !statSync(args.file).isFile()) {
    throw new UsageError(`${args.file}: no such file`, 'send');
  }
  const number = args.number ?? (await ask(io, 'number (số): ', false, '--number'));
  const signerName = args.signerName ?? (await ask(io, 'signer (người ký): ', false, '--signer-name'));
  const created = await client.documents.create({
    number,
    notation: args.notation,
    type: args.type,
    ...(args.typeName ? { typeName: args.typeName } : {}),
    subject: args.subject ?? basename(args.file, extname(args.file)),
    ...(args.content ? { content: args.content } : {}),
    ...(args.promulgationPlace ? { promulgationPlace: args.promulgationPlace } : {}),
    promulgationDate: args.promulgationDate ?? todayInVietnam(),
    signer: {
      position: args.signerPosition,
      fullName: signerName,
      ...(args.signerCompetence ? { competence: args.signerCompetence } : {}),
    },
    secrecy: args.secrecy,
    urgency: args.urgency,
    ...(args.steering ? { steering: true } : {}),
    ...(args.dueDate ? { dueDate: args.dueDate } : {}),
    recipients: args.to,
  });
  try {
    const bar = args.progress ? progressBar(io.stderr, basename(args.file)) : undefined;
    const attachment = await client.documents.upload(created.id, args.file, { onProgress: bar?.update });
    bar?.done();
    const sent = await client.documents.send(created.id);
    if (args.json) {
      io.stdout.write(`${JSON.stringify({ id: created.id, attachment, recipients: sent.recipients })}\n`);
    } else {
      const s = attachment.signature;
      const verdict = !s.present
        ? 'unsigned'
        : `signature ${s.valid ? 'valid' : 'INVALID'}, ${s.trusted ? 'trusted' : 'NOT trusted'}${s.signer ? ` (${s.signer})` : ''}${s.problem ? `: ${s.problem}` : ''}`;
      io.stdout.write(
        `✔ sent ${created.id} (${number}/${args.notation}) to ${args.to.join(', ')}; ${attachment.name} ${verdict}\n`,
      );
    }
    return 0;
  } catch (e) {
    // Created but not sent: say which draft to look at instead of leaving it unnamed.
    throw Object.assign(e as Error, { draft: created.id });
  }
}

async function watch(args: Extract<CliArgs, { command: 'watch' }>, client: LienthongClient, io: CliIo) {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for await (const e of watchEvents(client, {
      cursor: args.cursor,
      events: args.events,
      signal: stop.signal,
      pollIntervalMs: args.intervalMs,
      onFallback: (reason) => io.stderr.write(`lienthong watch: ${reason}\n`),
      onReconnect: (cursor) =>
        io.stderr.write(`lienthong watch: the stream ended; resuming after cursor ${cursor || '(none)'}\n`),
    })) {
      if (args.json) io.stdout.write(`${JSON.stringify(e)}\n`);
      else {
        const d = e.data as Record<string, unknown>;
        const extra = ['status', 'fromOrganizationCode', 'subject']
          .filter((k) => d[k] !== undefined && d[k] !== null)
          .map((k) => `${k}=${JSON.stringify(d[k])}`)
          .join(' ');
        io.stdout.write(
          `${e.time} ${e.type} ${e.data.documentId}${extra ? ` ${extra}` : ''}${e.cursor ? ` cursor=${e.cursor}` : ''}\n`,
        );
      }
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function inboxTable(items: DocumentView[], nextCursor: string | null): string {
  if (!items.length) return 'no incoming documents\n';
  const rows = [
    ['ID', 'NO.', 'FROM', 'STATUS', 'ARRIVED', 'NUMBER', 'SUBJECT'],
    ...items.map((d) => [
      d.id,
      String(d.arrivalNumber ?? ''),
      d.fromOrganizationCode ?? '',
      d.status ?? '',
      String(d.arrivalDate ?? '').slice(0, 10),
      `${d.number}/${d.notation}`,
      d.subject.length > 60 ? `${d.subject.slice(0, 59)}…` : d.subject,
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const out = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  '));
  if (nextCursor) out.push(`… more: lienthong inbox --cursor ${nextCursor}`);
  return `${out.join('\n')}\n`;
}

/** A readable reason, with what to do about it. */
export function explain(e: unknown, connection: Connection): string {
  const draft = (e as { draft?: string }).draft;
  const note = draft ? ` (document ${draft} was created but not sent)` : '';
  if (e instanceof LienthongApiError) {
    const hint =
      e.status === 401
        ? ': the token is missing or expired; run `lienthong login`'
        : e.status === 403
          ? ': your roles do not allow this'
          : '';
    return `${e.message}${hint}${note}`;
  }
  if (e instanceof LienthongNetworkError) {
    const where = connection.baseUrl ? '' : ' (give --url or log in with --url)';
    return `${e.message}: is the platform running?${where}${note}`;
  }
  const g = e as { code?: number; details?: string };
  if (typeof g.code === 'number' && g.details !== undefined) {
    const hint = g.code === 14 ? ' (the documents gRPC port: give --grpc HOST:PORT)' : '';
    return `gRPC ${g.code}: ${g.details}${hint}${note}`;
  }
  return `${(e as Error).message ?? String(e)}${note}`;
}

function todayInVietnam(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Ho_Chi_Minh' }).format(new Date());
}

async function readStdin(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** A prompt on the terminal (hidden input for secrets); without a terminal the value must come as a flag. */
async function ask(io: CliIo, question: string, hidden: boolean, flag?: string): Promise<string> {
  if (!io.stdin.isTTY) {
    throw new UsageError(
      `${question.replace(/[:\s]+$/, '')} is required${flag ? ` (${flag})` : ''} and there is no terminal to ask on`,
    );
  }
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) io.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: io.stdin, output, terminal: true });
  try {
    const answer = new Promise<string>((resolve) => rl.question(question, resolve));
    muted = hidden;
    const value = (await answer).trim();
    if (hidden) io.stderr.write('\n');
    if (!value) throw new UsageError(`${question.replace(/[:\s]+$/, '')} is required`);
    return value;
  } finally {
    rl.close();
  }
}
