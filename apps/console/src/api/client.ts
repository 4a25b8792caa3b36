/**
 * The console is one more client of the public REST API (API.md): same origin, bearer tokens from the
 * token endpoint, a silent refresh shortly before the access token expires (and once on a 401), and a
 * logout that revokes the refresh token and the access token.
 */

export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** OAuth failure of the token endpoint (`invalid_grant`…), with the server's description. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description?: string,
  ) {
    super(description ?? error);
  }
  get otpRequired(): boolean {
    return /one-time password/i.test(this.description ?? '');
  }
}

// The refresh token lives in sessionStorage: it survives a reload of this tab and dies with it; the access
// token only in memory.
const STORAGE_KEY = 'lienthong.refresh';

let tokens: TokenSet | null = null;
let refreshing: Promise<boolean> | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<(signedIn: boolean) => void>();

export function onAuthChange(fn: (signedIn: boolean) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setTokens(t: TokenSet | null): void {
  tokens = t;
  clearTimeout(refreshTimer);
  if (t?.refreshToken) sessionStorage.setItem(STORAGE_KEY, t.refreshToken);
  else sessionStorage.removeItem(STORAGE_KEY);
  if (t?.refreshToken) {
    // Refresh a minute before expiry (or at half the lifetime for very short tokens).
    const lifetime = t.expiresAt - Date.now();
    const wait = Math.max(5_000, Math.min(lifetime - 60_000, lifetime / 2));
    refreshTimer = setTimeout(() => void refresh(), wait);
  }
  for (const l of listeners) l(t !== null);
}

async function tokenRequest(body: Record<string, string>): Promise<TokenSet> {
  const r = await fetch('/api/v1/auth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await r.json().catch(() => ({}))) as Record<string, any>;
  if (!r.ok) throw new OAuthError(r.status, json.error ?? `http_${r.status}`, json.error_description);
  return {
    accessToken: json.access_token,
    refreshToken: json.refresh_token,
    expiresAt: Date.now() + Number(json.expires_in ?? 900) * 1000,
  };
}

export async function login(username: string, password: string, otp?: string): Promise<void> {
  const body: Record<string, string> = { grant_type: 'password', username, password };
  if (otp) body.otp = otp;
  setTokens(await tokenRequest(body));
}

/** Uses the stored refresh token (single flight: refresh tokens are single use on the server). */
export function refresh(): Promise<boolean> {
  if (refreshing) return refreshing;
  const rt = tokens?.refreshToken ?? sessionStorage.getItem(STORAGE_KEY);
  if (!rt) return Promise.resolve(false);
  refreshing = tokenRequest({ grant_type: 'refresh_token', refresh_token: rt })
    .then((t) => {
      setTokens(t);
      return true;
    })
    .catch(() => {
      setTokens(null);
      return false;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

export function hasSession(): boolean {
  return tokens !== null || sessionStorage.getItem(STORAGE_KEY) !== null;
}

export async function logout(): Promise<void> {
  const t = tokens;
  if (t) {
    const revoke = (token: string) =>
      fetch('/api/v1/auth/revoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${t.accessToken}` },
        body: JSON.stringify({ token }),
      }).catch(() => undefined);
    // The refresh token first: revoking the access token first would leave no token to authorize the second call.
    if (t.refreshToken) await revoke(t.refreshToken);
    await revoke(t.accessToken);
  }
  setTokens(null);
}

async function send(path: string, init: RequestInit, retried = false): Promise<Response> {
  if (!tokens && !(await refresh())) throw new ApiError(401, 'NOT_SIGNED_IN', 'Not signed in', null);
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${tokens!.accessToken}`);
  const r = await fetch(path, { ...init, headers });
  if (r.status === 401 && !retried && (await refresh())) return send(path, init, true);
  if (r.status === 401) setTokens(null);
  return r;
}

async function parse<T>(r: Response): Promise<T> {
  const text = await r.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  if (!r.ok) {
    const msg =
      (body && typeof body === 'object' && (body.message || body.error_description || body.error)) ||
      `HTTP ${r.status}`;
    throw new ApiError(r.status, body?.code, Array.isArray(msg) ? msg.join('; ') : String(msg), body);
  }
  return body as T;
}

/** Drops empty values so `?action=` never reaches the server. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export const api = {
  get: <T>(path: string) => send(path, { method: 'GET' }).then((r) => parse<T>(r)),
  post: <T>(path: string, body?: unknown) =>
    send(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    }).then((r) => parse<T>(r)),
  patch: <T>(path: string, body: unknown) =>
    send(path, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    }).then((r) => parse<T>(r)),
  put: <T>(path: string, body: unknown) =>
    send(path, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    }).then((r) => parse<T>(r)),
  del: <T>(path: string) => send(path, { method: 'DELETE' }).then((r) => parse<T>(r)),
  upload: <T>(path: string, file: File) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return send(path, { method: 'POST', body: form }).then((r) => parse<T>(r));
  },
  text: (path: string) =>
    send(path, { method: 'GET' }).then(async (r) => {
      if (!r.ok) await parse(r);
      return r.text();
    }),
  /** Downloads a file with the bearer token (a plain link could not carry it). */
  download: async (path: string, filename: string) => {
    const r = await send(path, { method: 'GET' });
    if (!r.ok) await parse(r);
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  },
};

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
