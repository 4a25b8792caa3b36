import { OrganizationView } from './identity';

export interface ServiceInfo {
  service: string;
  nodeId: string;
  version: string;
  uptimeSeconds: number;
}

/** Typed request/reply map: method (see `RpcMethods`, subject via `rpcSubject`) → request and response. */
export interface RpcMap {
  'identity.organization.get': { req: { code: string }; res: OrganizationView | null };
  'identity.organization.resolve': {
    req: { codes: string[] };
    res: { found: OrganizationView[]; missing: string[] };
  };
  'identity.organization.subtree': { req: { code: string }; res: { codes: string[] } };
  'identity.organization.exists': { req: { code: string }; res: { exists: boolean } };
  'identity.organization.upsert-state': {
    req: { code: string; name: string; parentCode?: string | null };
    res: OrganizationView;
  };
}

/** Error body carried back over request/reply. */
export interface RpcErrorBody {
  code: string;
  message: string;
  status?: number;
}
