import type { PlatformProcesses, Service } from './platform-processes';

export interface ApiResponse {
  status: number;
  body: any;
}

/** JSON over HTTP to one service of one platform node. */
export async function api(
  platform: PlatformProcesses,
  service: Service,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<ApiResponse> {
  const r = await fetch(`${platform.url(service)}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  try {
    return { status: r.status, body: JSON.parse(text) };
  } catch {
    return { status: r.status, body: text };
  }
}

export async function login(
  platform: PlatformProcesses,
  username: string,
  password: string,
): Promise<string> {
  const r = await api(platform, 'identity', 'POST', '/api/v1/auth/token', undefined, {
    grant_type: 'password',
    username,
    password,
  });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.access_token;
}

/** Polls until `fn` returns a truthy value. */
export async function until<T>(
  fn: () => Promise<T | undefined | false | null>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}
