import { OrganizationView } from './identity';
import { RpcSubjects } from './subjects';

export interface ServiceInfo {
  service: string;
  nodeId: string;
  version: string;
  uptimeSeconds: number;
}

/** Typed request/reply map: subject → request and response. */
export interface RpcMap {
  [RpcSubjects.organizationGet]: { req: { code: string }; res: OrganizationView | null };
  [RpcSubjects.organizationResolve]: { req: { codes: string[] }; res: { found: OrganizationView[]; missing: string[] } };
  [RpcSubjects.organizationSubtree]: { req: { code: string }; res: { codes: string[] } };
  [RpcSubjects.organizationExists]: { req: { code: string }; res: { exists: boolean } };
  [RpcSubjects.organizationUpsertState]: {
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
