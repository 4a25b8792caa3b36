import { useQuery } from '@tanstack/react-query';
import { api, type Page } from '../api/client';
import type { Organization } from '../api/types';

/** Folds case and Vietnamese diacritics so `ha nam` finds `Hà Nam` (as the documents search does on the server). */
export function fold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .toLowerCase();
}

/** The organization directory, read page by page (500 a page) and cached: the tree pickers search it locally. */
export const organizationsQuery = {
  queryKey: ['organizations', 'all'],
  staleTime: 5 * 60_000,
  queryFn: async () => {
    const all: Organization[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 40; i++) {
      const page: Page<Organization> = await api.get<Page<Organization>>(
        `/api/v1/organizations?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      all.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    return all;
  },
};

export function useOrganizations() {
  return useQuery(organizationsQuery);
}

export interface OrgNode {
  title: string;
  value: string;
  key: string;
  search: string;
  org: Organization;
  children: OrgNode[];
}

/** Builds the tree (parents before children do not need to be in order). */
export function orgTree(orgs: Organization[]): OrgNode[] {
  const nodes = new Map<string, OrgNode>();
  for (const o of orgs)
    nodes.set(o.code, {
      title: `${o.name} (${o.code})`,
      value: o.code,
      key: o.code,
      search: fold(`${o.name} ${o.code}`),
      org: o,
      children: [],
    });
  const roots: OrgNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.org.parentCode ? nodes.get(n.org.parentCode) : undefined;
    if (parent) parent.children.push(n);
    else roots.push(n);
  }
  const sort = (list: OrgNode[]) => {
    list.sort((a, b) => a.value.localeCompare(b.value));
    list.forEach((n) => sort(n.children));
  };
  sort(roots);
  return roots;
}

/** Every code in the subtree of `code` (itself included). */
export function subtreeCodes(orgs: Organization[], code: string): Set<string> {
  const children = new Map<string, string[]>();
  for (const o of orgs) {
    if (!o.parentCode) continue;
    children.set(o.parentCode, [...(children.get(o.parentCode) ?? []), o.code]);
  }
  const out = new Set<string>();
  const stack = [code];
  while (stack.length) {
    const c = stack.pop()!;
    if (out.has(c)) continue;
    out.add(c);
    stack.push(...(children.get(c) ?? []));
  }
  return out;
}
