/**
 * The pages' chunks, by name. `import()` of a module loads it once: the start of the app calls the current
 * page's loader (so its JavaScript downloads and evaluates while the app signs in again with the refresh token
 * and asks who the user is), and React.lazy in App.tsx reuses the same module.
 */
export const PAGE_CHUNKS = {
  documents: () => import('./pages/clerk/Documents'),
  compose: () => import('./pages/clerk/Compose'),
  document: () => import('./pages/clerk/DocumentDetail'),
  registers: () => import('./pages/clerk/Registers'),
  recipientGroups: () => import('./pages/clerk/RecipientGroups'),
  indicators: () => import('./pages/leader/Indicators'),
  exchanges: () => import('./pages/operator/Exchanges'),
  health: () => import('./pages/operator/Health'),
  nationalAxis: () => import('./pages/operator/NationalAxis'),
  federation: () => import('./pages/operator/Federation'),
  audit: () => import('./pages/auditor/AuditEvents'),
  organizations: () => import('./pages/admin/Organizations'),
  users: () => import('./pages/admin/Users'),
  clients: () => import('./pages/admin/Clients'),
  keys: () => import('./pages/admin/Keys'),
};

const BY_PATH: [RegExp, keyof typeof PAGE_CHUNKS][] = [
  [/^\/documents\/new$/, 'compose'],
  [/^\/documents\/[^/]+$/, 'document'],
  [/^\/documents$/, 'documents'],
  [/^\/registers$/, 'registers'],
  [/^\/recipient-groups$/, 'recipientGroups'],
  [/^\/indicators$/, 'indicators'],
  [/^\/exchanges$/, 'exchanges'],
  [/^\/health$/, 'health'],
  [/^\/national-axis$/, 'nationalAxis'],
  [/^\/federation$/, 'federation'],
  [/^\/audit$/, 'audit'],
  [/^\/admin\/organizations$/, 'organizations'],
  [/^\/admin\/users$/, 'users'],
  [/^\/admin\/clients$/, 'clients'],
  [/^\/admin\/keys$/, 'keys'],
];

/** Starts loading the chunk of the page at `pathname` (a failure shows later, where React.lazy loads it). */
export function preloadPage(pathname: string): void {
  const hit = BY_PATH.find(([re]) => re.test(pathname));
  if (hit) void PAGE_CHUNKS[hit[1]]().catch(() => undefined);
}
