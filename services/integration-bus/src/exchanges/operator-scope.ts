import { DomainError, hasRole, RpcClient, type Principal } from '@lienthong/common';
import { RpcMethods } from '@lienthong/contracts';

/**
 * Organizations whose exchanges the caller operates (API.md, common rules: every caller sees only what its
 * organization and its subtree may see): null for a system-admin (all), else its organization and every
 * organization below it, from identity. If identity cannot answer, the operator is refused (503) rather than
 * shown more or less than its subtree.
 */
export async function operatorScope(rpc: RpcClient, p: Principal): Promise<string[] | null> {
  if (hasRole(p, 'system-admin')) return null;
  try {
    const res = await rpc.request(RpcMethods.organizationSubtree, { code: p.organizationCode });
    return [...new Set([p.organizationCode, ...(res.codes ?? [])])];
  } catch {
    throw new DomainError(503, 'DIRECTORY_UNAVAILABLE', 'The organization directory is unavailable; retry');
  }
}

/** An exchange is in scope when its sender or its recipient is. */
export function exchangeInScope(ex: { from: string; to: string }, scope: string[] | null): boolean {
  return scope === null || scope.includes(ex.from) || scope.includes(ex.to);
}
