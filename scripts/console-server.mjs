// The one origin of API.md ("Additions of 2026-11-30"): serves the built web console (apps/console/dist) and
// forwards the public API by path to the four services, so the browser never needs CORS. Used by
// `npm start` and the browser e2e test; deploy/nginx/console.conf and the Kubernetes Ingress route the same paths.
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './platform.mjs';

export const CONSOLE_DIST = join(ROOT, 'apps', 'console', 'dist');

/** Path prefix → service, exactly the list of API.md. */
export const ROUTES = [
  ['/api/v1/auth', 'identity'],
  ['/api/v1/organizations', 'identity'],
  ['/api/v1/users', 'identity'],
  ['/api/v1/clients', 'identity'],
  ['/.well-known', 'identity'],
  ['/api/v1/documents', 'documents'],
  ['/api/v1/registers', 'documents'],
  ['/api/v1/reports', 'documents'],
  ['/api/v1/recipient-groups', 'documents'],
  ['/api/v1/subscriptions', 'documents'],
  ['/api/v1/edxml', 'integration-bus'],
  ['/api/v1/exchanges', 'integration-bus'],
  ['/api/v1/audit', 'audit'],
];

/** The console's health page reads each service's readiness here: /health/<service>/(live|ready). */
const HEALTH = /^\/health\/(identity|documents|integration-bus|audit)\/(live|ready)$/;

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// Ant Design writes its styles into <style> elements at run time, hence 'unsafe-inline' for styles only.
export const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

export function routeOf(path) {
  const hit = ROUTES.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`));
  if (hit) return { service: hit[1], path };
  const h = HEALTH.exec(path);
  if (h) return { service: h[1], path: `/health/${h[2]}` };
  return undefined;
}

/**
 * The origin's own errors in the API error shape (API.md "Common rules"), with the caller's correlation id when
 * it sent a usable one (as the services do), else a new one.
 */
function apiError(req, res, statusCode, error, code, message) {
  const given = req.headers['x-correlation-id'];
  const correlationId =
    typeof given === 'string' && /^[A-Za-z0-9._:-]{1,100}$/.test(given) ? given : randomUUID();
  res.writeHead(statusCode, { 'Content-Type': 'application/json', 'X-Correlation-Id': correlationId });
  res.end(JSON.stringify({ statusCode, error, code, message, correlationId }));
}

function proxy(req, res, target, path, query) {
  const url = new URL(target);
  const headers = { ...req.headers, host: url.host };
  headers['x-forwarded-for'] = [req.headers['x-forwarded-for'], req.socket.remoteAddress]
    .filter(Boolean)
    .join(', ');
  headers['x-forwarded-host'] = req.headers.host ?? '';
  headers['x-forwarded-proto'] = 'http';
  const up = request(
    { hostname: url.hostname, port: url.port, method: req.method, path: path + query, headers },
    (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    },
  );
  up.on('error', () => {
    if (res.headersSent) return res.destroy();
    apiError(
      req,
      res,
      502,
      'Bad Gateway',
      'UPSTREAM_UNAVAILABLE',
      'The service behind this path does not answer',
    );
  });
  // A browser that goes away (navigation, closed tab) ends the upstream request too.
  res.on('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  req.pipe(up);
}

function serveStatic(req, res, distDir, path) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' });
    return res.end();
  }
  let rel;
  try {
    rel = normalize(decodeURIComponent(path)).replace(/^([/\\])+/, '');
  } catch {
    res.writeHead(400);
    return res.end();
  }
  let file = join(distDir, rel);
  const inside = file === distDir || file.startsWith(distDir + sep);
  const isFile = inside && existsSync(file) && statSync(file).isFile();
  if (!isFile) {
    // Unknown asset → 404; any other path is a client-side route of the single-page app.
    if (rel.startsWith('assets/') || !existsSync(join(distDir, 'index.html'))) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
      return res.end(
        existsSync(distDir) ? 'Not found' : 'The console is not built: npm run build -w apps/console',
      );
    }
    file = join(distDir, 'index.html');
  }
  const immutable = rel.startsWith('assets/');
  res.writeHead(200, {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS,
  });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file).pipe(res);
}

/**
 * Starts the console origin. `upstreams` maps a service name to its base URL (http://127.0.0.1:3001 …).
 * Resolves with the listening server and its URL.
 */
export function startConsoleServer({ port = 3000, host = '127.0.0.1', upstreams, distDir = CONSOLE_DIST }) {
  const server = createServer((req, res) => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q === -1 ? raw : raw.slice(0, q);
    const query = q === -1 ? '' : raw.slice(q);
    const route = routeOf(path);
    if (route) return proxy(req, res, upstreams[route.service], route.path, query);
    if (path.startsWith('/api/'))
      return apiError(req, res, 404, 'Not Found', 'ROUTE_NOT_FOUND', 'No service serves this path');
    serveStatic(req, res, distDir, path);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({ server, url: `http://${host}:${addr.port}` });
    });
  });
}

// `node scripts/console-server.mjs`: the origin alone, in front of services that are already running
// (CONSOLE_PORT, CONSOLE_HOST; CONSOLE_UPSTREAMS as JSON {"identity":"http://…",…}, default the standard ports;
// CONSOLE_DIST_DIR: another build of the console to serve, e.g. an older one compared by bench/console-pages.mjs).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const defaults = { identity: 3001, documents: 3002, 'integration-bus': 3003, audit: 3004 };
  const upstreams = {
    ...Object.fromEntries(Object.entries(defaults).map(([s, p]) => [s, `http://127.0.0.1:${p}`])),
    ...JSON.parse(process.env.CONSOLE_UPSTREAMS ?? '{}'),
  };
  const { url } = await startConsoleServer({
    port: Number(process.env.CONSOLE_PORT ?? 3000),
    host: process.env.CONSOLE_HOST ?? '127.0.0.1',
    upstreams,
    distDir: process.env.CONSOLE_DIST_DIR ? resolve(process.env.CONSOLE_DIST_DIR) : CONSOLE_DIST,
  });
  console.log(`console listening on ${url}`);
}
