import { AuditActions, type AuditEventPayload } from '@lienthong/contracts';

/** RFC 5424 §6.2.1 severities used by the feed. */
export const Severity = { critical: 2, error: 3, warning: 4, notice: 5 } as const;
export type SeverityLevel = (typeof Severity)[keyof typeof Severity];

type Rule = (e: AuditEventPayload) => SeverityLevel | null;

const reasonOf = (e: AuditEventPayload) => (e.details as { reason?: unknown } | undefined)?.reason;

/**
 * Which audit events the SOC sees, and how loud. Only security-relevant actions: everyday success events stay
 * in the audit log (the SOC can query it) so the feed is a signal, not a copy of the log.
 */
const RULES: Record<string, Rule> = {
  // A TOTP code presented again (identity's `otp-replayed`): right password and a code seen before, so the
  // password has leaked and someone is relaying or copying the codes.
  [AuditActions.loginFailed]: (e) => (reasonOf(e) === 'otp-replayed' ? Severity.warning : Severity.notice),
  [AuditActions.accountLocked]: () => Severity.warning,
  // A refresh token presented twice: stolen or replayed; the whole family was revoked.
  [AuditActions.refreshReuseDetected]: () => Severity.critical,
  [AuditActions.accessDenied]: () => Severity.notice,
  // A package refused at the door (bad XML-DSig, unknown node, schema, size…).
  [AuditActions.edxmlRejected]: () => Severity.warning,
  // Every verdict other than "consistent" (GAP, BAD_SIGNATURE, INCONSISTENT…); INCONSISTENT means a forked log.
  [AuditActions.checkpointWitnessRefused]: (e) =>
    reasonOf(e) === 'INCONSISTENT' ? Severity.critical : Severity.error,
  // Classified documents never leave over the network: an attempt is worth a look.
  [AuditActions.documentSendRefused]: (e) =>
    reasonOf(e) === 'DOCUMENT_CLASSIFIED' ? Severity.warning : null,
  [AuditActions.exchangeRefused]: (e) => (reasonOf(e) === 'DOCUMENT_CLASSIFIED' ? Severity.warning : null),
  // A PDF that carries a signature which does not verify (unsigned PDFs are not failures).
  [AuditActions.attachmentAdded]: (e) => {
    const d = (e.details ?? {}) as { signaturePresent?: unknown; signatureValid?: unknown };
    return d.signaturePresent === true && d.signatureValid === false ? Severity.warning : null;
  },
};

/** The severity to forward the event with, or null when the SOC does not get it. */
export function socSeverity(e: AuditEventPayload): SeverityLevel | null {
  const rule = RULES[e.action];
  return rule ? rule(e) : null;
}
