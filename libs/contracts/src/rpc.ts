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
  'audit.resource-proofs': { req: ResourceProofsRequest; res: ResourceProofsResponse };
}

/** A signed tree head as `GET /api/v1/audit/checkpoint` returns it. */
export interface SignedCheckpoint {
  origin: string;
  treeSize: number;
  rootHash: string;
  timestamp: string;
  keyId: string;
  signature: string;
}

/**
 * The audit events whose `resource.id` is one of `resourceIds`, each with its inclusion proof against one
 * signed checkpoint. Without `treeSize` the audit service signs (or reuses) the checkpoint of its current
 * head; later pages and later requests of the same package pass that checkpoint's `treeSize`.
 */
export interface ResourceProofsRequest {
  resourceIds: string[];
  treeSize?: number;
  /** Keyset paging by leaf index: events after this one. */
  afterIndex?: number;
  limit?: number;
}

export interface ProvenEvent {
  leafIndex: number;
  leafHash: string;
  /** The stored event exactly as logged (its RFC 8785 form hashes to `leafHash`). */
  event: Record<string, unknown>;
  auditPath: string[];
}

export interface ResourceProofsResponse {
  checkpoint: SignedCheckpoint;
  /** Every checkpoint signing key (public, PEM), so the package verifies offline. */
  keys: { keyId: string; publicKey: string }[];
  events: ProvenEvent[];
  /** Pass as `afterIndex` for the next page; null when this was the last. */
  nextAfterIndex: number | null;
}

/** Error body carried back over request/reply. */
export interface RpcErrorBody {
  code: string;
  message: string;
  status?: number;
}
