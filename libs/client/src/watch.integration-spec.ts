import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LienthongClient } from './client';
import type { DocumentEvent } from './model';
import { watchEvents } from './watch';

const PROTO = join(__dirname, '..', '..', 'contracts', 'proto', 'documents.proto');

type WatchCall = grpc.ServerWritableStream<{ cursor: string; events: string[] }, unknown>;

/** A DocumentExchange server on a free port with the given handlers (none: every method UNIMPLEMENTED). */
async function grpcServer(
  handlers: grpc.UntypedServiceImplementation,
): Promise<{ server: grpc.Server; port: number }> {
  const def = protoLoader.loadSync(PROTO, { keepCase: false, longs: Number, enums: String, defaults: false });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const server = new grpc.Server();
  server.addService(pkg.lienthong.documents.v1.DocumentExchange.service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { server, port };
}

async function collect(it: AsyncGenerator<DocumentEvent>, n: number): Promise<DocumentEvent[]> {
  const out: DocumentEvent[] = [];
  for await (const e of it) {
    out.push(e);
    if (out.length === n) break;
  }
  return out;
}

describe('watchEvents', () => {
  const servers: grpc.Server[] = [];
  let http: Server | undefined;
  afterEach(async () => {
    for (const s of servers.splice(0)) s.forceShutdown();
    await new Promise((r) => (http ? http.close(r) : r(undefined)));
    http = undefined;
  });

  it('reads the gRPC Watch stream with the bearer token, the cursor and the event filter', async () => {
    const seen: Array<{ authorization: unknown; cursor: string; events: string[] }> = [];
    const { server, port } = await grpcServer({
      watch: (call: WatchCall) => {
        seen.push({ authorization: call.metadata.get('authorization')[0], ...call.request });
        call.write({
          id: 'e1',
          type: 'document.incoming',
          time: '2026-11-30T06:00:00+07:00',
          organizationCode: '000.32.00.P32',
          documentId: 'd1',
          dataJson: JSON.stringify({ fromOrganizationCode: '000.31.00.P31', arrivalNumber: 7 }),
          cursor: '41',
        });
        call.write({
          id: 'e2',
          type: 'document.status',
          documentId: 'd1',
          dataJson: 'not json',
          cursor: '42',
        });
      },
    });
    servers.push(server);
    const client = new LienthongClient({
      grpcAddress: `127.0.0.1:${port}`,
      tokens: { accessToken: 'tok-1' },
    });
    const events = await collect(watchEvents(client, { cursor: '40', events: ['document.incoming'] }), 2);
    client.close();
    expect(seen).toEqual([{ authorization: 'Bearer tok-1', cursor: '40', events: ['document.incoming'] }]);
    expect(events[0]).toEqual({
      id: 'e1',
      type: 'document.incoming',
      time: '2026-11-30T06:00:00+07:00',
      organizationCode: '000.32.00.P32',
      data: { documentId: 'd1', fromOrganizationCode: '000.31.00.P31', arrivalNumber: 7 },
      cursor: '41',
    });
    expect(events[1]).toMatchObject({ id: 'e2', data: { documentId: 'd1' }, cursor: '42' });
  });

  it('opens the stream again after the last cursor when the server ends it (a replica shutting down)', async () => {
    const cursors: string[] = [];
    const { server, port } = await grpcServer({
      watch: (call: WatchCall) => {
        cursors.push(call.request.cursor);
        const n = cursors.length;
        call.write({ id: `e${n}`, type: 'document.incoming', documentId: `d${n}`, cursor: String(100 + n) });
        if (n === 1) call.end();
      },
    });
    servers.push(server);
    const client = new LienthongClient({ grpcAddress: `127.0.0.1:${port}`, tokens: { accessToken: 't' } });
    const resumed: string[] = [];
    const events = await collect(watchEvents(client, { onReconnect: (c) => resumed.push(c) }), 2);
    client.close();
    expect(events.map((e) => e.id)).toEqual(['e1', 'e2']);
    expect(cursors).toEqual(['', '101']);
    expect(resumed).toEqual(['101']);
  });

  it('refreshes the token and resumes when the server ends the stream with UNAUTHENTICATED (token expired)', async () => {
    const calls: Array<{ authorization: unknown; cursor: string }> = [];
    const { server, port } = await grpcServer({
      watch: (call: WatchCall) => {
        calls.push({ authorization: call.metadata.get('authorization')[0], cursor: call.request.cursor });
        const n = calls.length;
        call.write({ id: `e${n}`, type: 'document.status', documentId: 'd', cursor: String(n) });
        if (n === 1) call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'token expired' });
      },
    });
    servers.push(server);
    const grants: string[] = [];
    http = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        grants.push(body);
        res.setHeader('Content-Type', 'application/json');
        res.end(
          JSON.stringify({
            access_token: 'fresh',
            token_type: 'Bearer',
            expires_in: 900,
            refresh_token: 'r2',
          }),
        );
      });
    });
    await new Promise<void>((r) => http!.listen(0, '127.0.0.1', r));
    const client = new LienthongClient({
      baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      grpcAddress: `127.0.0.1:${port}`,
      tokens: { accessToken: 'old', refreshToken: 'r1' },
    });
    const events = await collect(watchEvents(client), 2);
    client.close();
    expect(events.map((e) => e.id)).toEqual(['e1', 'e2']);
    expect(JSON.parse(grants[0])).toEqual({ grant_type: 'refresh_token', refresh_token: 'r1' });
    expect(calls).toEqual([
      { authorization: 'Bearer old', cursor: '' },
      { authorization: 'Bearer fresh', cursor: '1' },
    ]);
  });

  it('falls back to polling the incoming list when the server answers UNIMPLEMENTED, and says so', async () => {
    const { server, port } = await grpcServer({});
    servers.push(server);
    const lists: string[] = [];
    let round = 0;
    http = createServer((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/api/v1/auth/me') {
        return res.end(
          JSON.stringify({ sub: 'u', organizationCode: '000.32.00.P32', roles: ['clerk'], type: 'user' }),
        );
      }
      lists.push(req.url ?? '');
      round++;
      const items = [{ id: 'old', status: 'arrived', subject: 'cũ' }];
      if (round >= 2)
        items.unshift({ id: 'new', status: round >= 3 ? 'accepted' : 'arrived', subject: 'mới' });
      res.end(JSON.stringify({ items, nextCursor: null }));
    });
    await new Promise<void>((r) => http!.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const client = new LienthongClient({
      baseUrl: base,
      grpcAddress: `127.0.0.1:${port}`,
      tokens: { accessToken: 't' },
    });
    const notes: string[] = [];
    const events = await collect(
      watchEvents(client, { pollIntervalMs: 10, onFallback: (n) => notes.push(n) }),
      2,
    );
    client.close();
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(
      /does not implement Watch \(UNIMPLEMENTED\): polling GET \/api\/v1\/documents\?direction=incoming/,
    );
    expect(lists[0]).toBe('/api/v1/documents?limit=500&direction=incoming');
    // The documents present at the start are not reported; a new one is, then its status change.
    expect(events.map((e) => [e.type, e.data.documentId, e.data.status])).toEqual([
      ['document.incoming', 'new', 'arrived'],
      ['document.status', 'new', 'accepted'],
    ]);
    expect(events.every((e) => e.organizationCode === '000.32.00.P32')).toBe(true);
  });

  it('any other gRPC failure is an error, not a silent fallback', async () => {
    const { server, port } = await grpcServer({
      watch: (call: WatchCall) =>
        call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'bad token' }),
    });
    servers.push(server);
    const client = new LienthongClient({ grpcAddress: `127.0.0.1:${port}`, tokens: { accessToken: 'x' } });
    const notes: string[] = [];
    await expect(collect(watchEvents(client, { onFallback: (n) => notes.push(n) }), 1)).rejects.toMatchObject(
      {
        code: grpc.status.UNAUTHENTICATED,
      },
    );
    client.close();
    expect(notes).toEqual([]);
  });
});
