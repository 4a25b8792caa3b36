import { Injectable } from '@nestjs/common';
import { AuditRecorder, DomainError, type Principal } from '@lienthong/common';
import { AuditActions } from '@lienthong/contracts';
import { DataSource } from 'typeorm';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { parseDocumentId, type EdxmlPackage, type EdxmlStatus } from '../edxml';

export const SENDER_MISMATCH = 'EDXML_SENDER_MISMATCH';

/** `clientId=CODE|CODE;clientId2=CODE` → who may act for which organizations besides their own. */
export function parseActFor(spec: string | undefined): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const entry of (spec ?? '').split(';')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const who = entry.slice(0, eq).trim();
    const codes = entry
      .slice(eq + 1)
      .split('|')
      .map((c) => c.trim())
      .filter(Boolean);
    out.set(who, new Set([...(out.get(who) ?? []), ...codes]));
  }
  return out;
}

interface Mismatch {
  field: string;
  value: string;
}

/**
 * Inbound edXML speaks for its caller only (issue 13.1, API.md "Integration bus"): the caller's organization,
 * or one it is explicitly allowed to act for (EDXML_ACT_FOR), must be the package's `From`, the sender named in
 * its DocumentId, and the `OrganId` of every status it posts. Checked at the edge, before anything is stored,
 * so a forged recall (business type 1), status or "DocumentId first" duplicate never reaches the exchanges.
 */
@Injectable()
export class EdxmlSenderPolicy {
  private readonly actFor: Map<string, Set<string>>;

  constructor(
    config: IntegrationBusConfig,
    private readonly audit: AuditRecorder,
    private readonly dataSource: DataSource,
  ) {
    this.actFor = parseActFor(config.EDXML_ACT_FOR);
  }

  /** The organizations a caller may speak for. */
  allowed(p: Principal): Set<string> {
    return new Set([p.organizationCode, ...(this.actFor.get(p.sub) ?? [])]);
  }

  packageMismatches(p: Principal, pkg: EdxmlPackage): Mismatch[] {
    const ok = this.allowed(p);
    const bad: Mismatch[] = [];
    if (!ok.has(pkg.from.organId)) bad.push({ field: 'MessageHeader/From/OrganId', value: pkg.from.organId });
    // The parser already refused a DocumentId that does not parse.
    const sender = parseDocumentId(pkg.documentId).organId;
    if (!ok.has(sender) || sender !== pkg.from.organId)
      bad.push({ field: 'MessageHeader/DocumentId', value: pkg.documentId });
    return bad;
  }

  statusMismatches(p: Principal, s: EdxmlStatus): Mismatch[] {
    return this.allowed(p).has(s.from.organId)
      ? []
      : [{ field: 'Status/From/OrganId', value: s.from.organId }];
  }

  /** Refuses (403, audited) a package that does not come from the caller. */
  async checkPackage(p: Principal, pkg: EdxmlPackage): Promise<void> {
    await this.enforce(p, this.packageMismatches(p, pkg), {
      kind: 'package',
      documentId: pkg.documentId,
      businessDocType: pkg.businessDocType,
    });
  }

  /** Refuses (403, audited) a status that does not come from the caller. */
  async checkStatus(p: Principal, s: EdxmlStatus): Promise<void> {
    await this.enforce(p, this.statusMismatches(p, s), {
      kind: 'status',
      documentId: s.responseFor.documentId,
      statusCode: s.statusCode,
    });
  }

  private async enforce(p: Principal, bad: Mismatch[], what: Record<string, unknown>): Promise<void> {
    if (bad.length === 0) return;
    await this.dataSource.transaction((m) =>
      this.audit.record(m, {
        action: AuditActions.edxmlRejected,
        actor: { sub: p.sub, organizationCode: p.organizationCode, type: p.type },
        resource: { type: 'edxml', id: String(what.documentId ?? 'unknown').slice(0, 200) },
        outcome: 'denied',
        details: {
          reason: SENDER_MISMATCH,
          origin: 'api',
          ...what,
          claimed: bad.map((b) => ({ field: b.field, value: b.value.slice(0, 200) })),
        },
      }),
    );
    throw new DomainError(
      403,
      SENDER_MISMATCH,
      `An exchange client may post only packages and statuses of its own organization (${p.organizationCode})`,
      bad.map((b) => ({
        field: b.field,
        errors: [`is not ${p.organizationCode} or an organization it acts for`],
      })),
    );
  }
}
