import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface SyslogTarget {
  protocol: 'tcp' | 'tls';
  host: string;
  port: number;
}

export function parseSyslogUrl(url: string): SyslogTarget {
  const m = /^(tcp|tls):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(url);
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) throw new Error(`not a syslog URL: ${url}`);
  return { protocol: m[1] as 'tcp' | 'tls', host: m[2].replace(/^\[|\]$/g, ''), port: Number(m[3]) };
}

const CONNECT_TIMEOUT_MS = 10_000;
const WRITE_TIMEOUT_MS = 30_000;

/**
 * One stream connection to the collector, opened on demand. `write` resolves once the frame was handed to the
 * socket (its write callback), which is when the feed acks the event. A connection the collector closed is
 * dropped as soon as it is seen ('end'/'close'), so later frames wait for a new one instead of going into a dead
 * socket.
 */
export class SyslogTransport {
  private socket?: Socket;
  private connecting?: Promise<Socket>;
  private readonly ca?: Buffer;

  constructor(
    private readonly target: SyslogTarget,
    caFile?: string,
    private readonly onState: (connected: boolean) => void = () => undefined,
  ) {
    this.ca = caFile ? readFileSync(caFile) : undefined;
  }

  get connected(): boolean {
    return this.socket !== undefined;
  }

  async write(data: Buffer): Promise<void> {
    const socket = this.socket ?? (await this.connect());
    await new Promise<void>((resolve, reject) => {
      // A collector that stops reading (but keeps the connection) would hold the feed forever: give up on the
      // connection instead, and the event is sent again on a new one.
      const timer = setTimeout(() => reject(new Error('syslog write timeout')), WRITE_TIMEOUT_MS);
      socket.write(data, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    }).catch((e: Error) => {
      this.drop(socket);
      throw e;
    });
  }

  close(): void {
    if (this.socket) this.drop(this.socket);
  }

  private connect(): Promise<Socket> {
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const { host, port } = this.target;
      const socket =
        this.target.protocol === 'tls'
          ? tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, ca: this.ca })
          : tcpConnect({ host, port });
      const ready = this.target.protocol === 'tls' ? 'secureConnect' : 'connect';
      socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error('syslog connect timeout')));
      socket.once(ready, () => {
        socket.setTimeout(0);
        socket.setKeepAlive(true, 30_000);
        this.socket = socket;
        this.onState(true);
        resolve(socket);
      });
      socket.on('error', (e) => {
        if (this.socket === socket) this.drop(socket);
        reject(e);
      });
      socket.on('end', () => this.drop(socket));
      socket.on('close', () => {
        if (this.socket === socket) this.drop(socket);
        reject(new Error('syslog connection closed'));
      });
      // The collector does not answer; reading keeps its bytes (if any) from piling up.
      socket.resume();
    }).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private drop(socket: Socket): void {
    if (this.socket === socket) {
      this.socket = undefined;
      this.onState(false);
    }
    socket.destroy();
  }
}
