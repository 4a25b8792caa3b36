import type { NetworkZone, OrganizationLevel, OrganizationSector, OrganizationView } from '@lienthong/contracts';

/** A row of `organizations`. `path` is the materialized path '/ROOT/CHILD/…/CODE/'. */
export interface OrganizationRow {
  code: string;
  name: string;
  parent_code: string | null;
  path: string;
  level: OrganizationLevel;
  sector: OrganizationSector;
  zone: NetworkZone;
  node_id: string;
  created_at: Date;
  updated_at: Date;
}

export function toOrganizationView(r: OrganizationRow): OrganizationView {
  return {
    code: r.code,
    name: r.name,
    parentCode: r.parent_code,
    level: r.level,
    sector: r.sector,
    zone: r.zone,
    nodeId: r.node_id,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}
