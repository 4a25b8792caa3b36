import type { FieldError } from '@lienthong/common';
import type { NetworkZone, OrganizationLevel, OrganizationSector } from '@lienthong/contracts';
import { isQcvn102Code } from './organization-code';

const LEVEL_RANK: Record<OrganizationLevel, number> = { central: 0, province: 1, district: 2, commune: 3 };

export interface ChildShape {
  code: string;
  level: OrganizationLevel;
  sector: OrganizationSector;
  zone: NetworkZone;
  nodeId: string;
}

export interface ParentShape {
  code: string;
  level: OrganizationLevel;
  sector: OrganizationSector;
  zone: NetworkZone;
  node_id: string;
}

/**
 * Whether `code` lies in the code space of `parent`. QCVN 102 codes `NNN.NN.NN.XNN` name the unit's place
 * group by group (e.g. `000.01.00.P01` a province, `000.01.01.D01` a district of it): every one of the first
 * three groups that is not zeros in the parent's code must be the same in the child's. Other dotted codes
 * extend the parent's code (`A1` → `A1.B2`).
 */
export function codeWithinParent(code: string, parentCode: string): boolean {
  if (isQcvn102Code(parentCode)) {
    if (!isQcvn102Code(code)) return false;
    const p = parentCode.split('.');
    const c = code.split('.');
    return [0, 1, 2].every((i) => /^0+$/.test(p[i]) || p[i] === c[i]);
  }
  return code.startsWith(`${parentCode}.`);
}

/**
 * What an org-admin may create (or make of) an organization below its own: a code in the parent's code space,
 * the parent's sector (government agencies come from the national axis, not from a party org-admin) and node,
 * a level below the parent's, and no party-WAN organization under an internet one. A system-admin is not
 * bound by these (it places organizations anywhere, e.g. a province served by its own node).
 */
export function subtreeRuleProblems(child: ChildShape, parent: ParentShape): FieldError[] {
  const problems: FieldError[] = [];
  if (!codeWithinParent(child.code, parent.code))
    problems.push({ field: 'code', errors: [`must lie in the code space of ${parent.code}`] });
  if (child.sector !== parent.sector)
    problems.push({ field: 'sector', errors: [`must be ${parent.sector}, the parent's sector`] });
  if (child.nodeId !== parent.node_id)
    problems.push({ field: 'nodeId', errors: [`must be ${parent.node_id}, the parent's node`] });
  const below = LEVEL_RANK[child.level] > LEVEL_RANK[parent.level];
  if (!below && !(child.level === 'commune' && parent.level === 'commune'))
    problems.push({ field: 'level', errors: [`must be below ${parent.level}`] });
  if (parent.zone === 'internet' && child.zone !== 'internet')
    problems.push({ field: 'zone', errors: ['must be internet below an internet organization'] });
  return problems;
}
