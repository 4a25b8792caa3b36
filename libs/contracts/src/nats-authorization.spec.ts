import { outboxWakeAll } from './events';
import { NAMESPACE, streamName } from './namespace';
import { leafNodePermissions, natsAuthorizationConfig, servicePermissions } from './nats-authorization';
import { SERVICE_NAMES, Subjects } from './subjects';

describe('NATS authorization derived from the contracts', () => {
  const hub = { nodeId: 'central', domain: 'central' };

  it('gives a leaf node nothing of the platform subjects and only consumers filtered to its own messages', () => {
    const p = leafNodePermissions(hub, { nodeId: 'p01', domain: 'p01' });
    const all = [...p.publish.allow, ...p.subscribe.allow];
    expect(all.filter((s) => s.startsWith(`${NAMESPACE}.`) || s === '>' || s.startsWith('$JS.API'))).toEqual(
      [],
    );
    const creates = p.publish.allow.filter((s) => s.includes('.CONSUMER.CREATE.'));
    expect(creates).toContain(
      `$JS.central.API.CONSUMER.CREATE.${streamName('FEDOUT')}.*.${Subjects.federationTo('p01')}`,
    );
    expect(
      creates.some(
        (s) => s.includes(Subjects.federationTo('p02')) || s.endsWith(`${streamName('FEDOUT')}.>`),
      ),
    ).toBe(false);
    expect(p.publish.allow.some((s) => s.includes('STREAM.'))).toBe(false);
  });

  it('lets each service publish only its own event subjects', () => {
    const own: Record<string, string> = {
      identity: Subjects.identityAll(),
      documents: Subjects.documentsAll(),
      'integration-bus': Subjects.busAll(),
      audit: Subjects.witnessCheckpointSigned(),
    };
    for (const s of SERVICE_NAMES) {
      const allow = servicePermissions(s, 'central').publish.allow;
      expect(allow).toContain(own[s]);
      for (const other of SERVICE_NAMES.filter((o) => o !== s)) {
        expect({ s, other, can: allow.includes(own[other]) }).toEqual({ s, other, can: false });
        expect(allow).not.toContain(Subjects.auditEvent(other));
      }
      expect(servicePermissions(s, 'central').subscribe.allow).toEqual([
        `_INBOX.${s}.>`,
        `${NAMESPACE}.rpc.${s}.>`,
        outboxWakeAll(),
        ...(s === 'integration-bus' ? [Subjects.busAxisWake()] : []),
      ]);
    }
  });

  it('renders passwords as given (environment references stay unquoted)', () => {
    const text = natsAuthorizationConfig({
      nodeId: 'central',
      servicePasswords: { identity: '$A', documents: '$B', 'integration-bus': '$C', audit: '$D' },
      leaves: [{ nodeId: 'p01', domain: 'p01', password: 'literal' }],
    });
    expect(text).toContain('password: $A');
    expect(text).toContain('password: "literal"');
    expect(text).toContain('user: "leaf-p01"');
  });
});
