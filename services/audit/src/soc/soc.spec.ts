import { AuditActions, type AuditEventPayload } from '@lienthong/contracts';
import { Severity, socSeverity } from './soc.policy';
import { formatSyslog, frame, SD_ID } from './syslog.format';
import { parseSyslogUrl } from './syslog.transport';

function ev(over: Partial<AuditEventPayload> = {}): AuditEventPayload {
  return {
    id: '6f1c7a52-5a7e-4d0c-9a53-3c3d2f1b0a11',
    time: '2026-11-30T03:04:05.678Z',
    service: 'identity',
    action: AuditActions.loginFailed,
    actor: { sub: 'nguyen"van]a\\', organizationCode: '000.00.00.G01', type: 'anonymous' },
    resource: { type: 'user', id: 'u1' },
    outcome: 'failure',
    details: { reason: 'bad-password' },
    ...over,
  };
}

describe('SOC policy', () => {
  it('forwards the security actions and nothing else', () => {
    expect(socSeverity(ev())).toBe(Severity.notice);
    expect(socSeverity(ev({ details: { reason: 'otp-invalid' } }))).toBe(Severity.notice);
    expect(socSeverity(ev({ details: { reason: 'otp-replayed' } }))).toBe(Severity.warning);
    expect(socSeverity(ev({ action: AuditActions.accountLocked }))).toBe(Severity.warning);
    expect(socSeverity(ev({ action: AuditActions.refreshReuseDetected }))).toBe(Severity.critical);
    expect(socSeverity(ev({ action: AuditActions.edxmlRejected }))).toBe(Severity.warning);
    expect(
      socSeverity(ev({ action: AuditActions.checkpointWitnessRefused, details: { reason: 'INCONSISTENT' } })),
    ).toBe(Severity.critical);
    expect(
      socSeverity(ev({ action: AuditActions.checkpointWitnessRefused, details: { reason: 'GAP' } })),
    ).toBe(Severity.error);
    for (const action of [AuditActions.documentSendRefused, AuditActions.exchangeRefused]) {
      expect(socSeverity(ev({ action, details: { reason: 'DOCUMENT_CLASSIFIED' } }))).toBe(Severity.warning);
      expect(socSeverity(ev({ action, details: { reason: 'DOCUMENT_ALREADY_SENT' } }))).toBeNull();
    }
    const pdf = (d: Record<string, unknown>) =>
      socSeverity(ev({ action: AuditActions.attachmentAdded, details: d }));
    expect(pdf({ signaturePresent: true, signatureValid: false })).toBe(Severity.warning);
    expect(pdf({ signaturePresent: false, signatureValid: false })).toBeNull();
    expect(pdf({ signaturePresent: true, signatureValid: true })).toBeNull();
    for (const action of [
      AuditActions.loginSucceeded,
      AuditActions.documentRead,
      AuditActions.checkpointWitnessed,
      AuditActions.exchangeDelivered,
    ])
      expect(socSeverity(ev({ action, outcome: 'success' }))).toBeNull();
  });
});

describe('RFC 5424 formatting and RFC 6587 framing', () => {
  const header = { facility: 13, severity: Severity.warning, hostname: 'audit host', nodeId: 'central' };

  it('writes PRI, version, timestamp, hostname, app-name, msgid and escaped structured data', () => {
    const msg = formatSyslog(ev(), header);
    const m = /^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[(\S+) (.*)\] \uFEFF(.*)$/su.exec(msg);
    expect(m).not.toBeNull();
    const [, pri, ts, host, app, procid, msgid, sdId, params, body] = m!;
    expect(Number(pri)).toBe(13 * 8 + 4);
    expect(ts).toBe('2026-11-30T03:04:05.678Z');
    expect(host).toBe('audit_host');
    expect(app).toBe('lienthong-identity');
    expect(procid).toBe('-');
    expect(msgid).toBe('auth.login.failed');
    expect(sdId).toBe(SD_ID);
    expect(params).toContain('actorSub="nguyen\\"van\\]a\\\\"');
    expect(params).toContain('eventId="6f1c7a52-5a7e-4d0c-9a53-3c3d2f1b0a11"');
    expect(params).toContain('reason="bad-password"');
    expect(params).toContain('node="central"');
    expect(JSON.parse(body)).toEqual(ev());
  });

  it('keeps MSGID within 32 characters and counts octets, not characters', () => {
    const msg = formatSyslog(ev({ action: 'x'.repeat(40), details: { reason: 'chữ ký sai' } }), header);
    expect(msg.split(' ')[5]).toBe('x'.repeat(32));
    const f = frame(msg);
    const sp = f.indexOf(0x20);
    expect(Number(f.subarray(0, sp).toString())).toBe(Buffer.byteLength(msg));
    expect(Buffer.byteLength(msg)).toBeGreaterThan(msg.length);
    expect(f.subarray(sp + 1).toString('utf8')).toBe(msg);
  });

  it('reads tcp:// and tls:// URLs and refuses others', () => {
    expect(parseSyslogUrl('tcp://soc.example:6514')).toEqual({
      protocol: 'tcp',
      host: 'soc.example',
      port: 6514,
    });
    expect(parseSyslogUrl('tls://[::1]:6514')).toEqual({ protocol: 'tls', host: '::1', port: 6514 });
    expect(() => parseSyslogUrl('udp://soc:514')).toThrow();
    expect(() => parseSyslogUrl('tcp://soc:99999')).toThrow();
  });
});
