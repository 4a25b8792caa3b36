import { defineConfig } from 'vite';

// No React plugin: Vite's own transform compiles TSX with the automatic JSX runtime (tsconfig "jsx"), and
// the console needs no fast refresh in its build. Pages are loaded lazily (charts and admin pages split out).
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    rolldownOptions: {
      // Ant Design marks its modules "use client" (for React Server Components); meaningless in a plain SPA.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: {
    // `npx vite` during development: the same path routing as the one origin of `npm start`.
    proxy: Object.fromEntries(
      [
        ['/api/v1/auth', 3001],
        ['/api/v1/organizations', 3001],
        ['/api/v1/users', 3001],
        ['/api/v1/clients', 3001],
        ['/.well-known', 3001],
        ['/api/v1/documents', 3002],
        ['/api/v1/registers', 3002],
        ['/api/v1/reports', 3002],
        ['/api/v1/recipient-groups', 3002],
        ['/api/v1/subscriptions', 3002],
        ['/api/v1/edxml', 3003],
        ['/api/v1/exchanges', 3003],
        ['/api/v1/audit', 3004],
      ].map(([path, port]) => [path, `http://127.0.0.1:${port}`]),
    ),
  },
});
