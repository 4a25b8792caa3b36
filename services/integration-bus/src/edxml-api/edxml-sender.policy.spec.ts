import type { Principal } from '@lienthong/common';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { formatDocumentId, type EdxmlPackage, type EdxmlStatus } from '../edxml';
import { EdxmlSenderPolicy, parseActFor } from './edxml-sender.policy';

const OWN = '000.00.01.T01';
const VICTIM = '000.00.00.H01';

const principal = (over: Partial<Principal> = {}): Principal => ({
  sub: 'client-1',
  organizationCode: OWN,
  roles: ['exchange'],
  type: 'client',
  jti: 'j',
  expiresAt: 0,
  ...over,
});

function pkg(from: string, docSender: string, businessDocType: 0 | 1 = 0): EdxmlPackage {
  return {
    from: { organId: from },
    to: [{ organId: '000.00.00.H02' }],
    documentId: formatDocumentId(docSender, '2026-11-20', '12', 'QĐ/TW'),
    codeNumber: '12',
    codeNotation: 'QĐ/TW',
    promulgationDate: '2026-11-20',
    type: '1',
    subject: 's',
    signer: {},
    priority: 0,
    steeringType: 0,
    toPlaces: [],
    responseFor: [],
    traces: [],
    businessDocType,
    attachments: [],
  };
}

const status = (from: string): EdxmlStatus => ({
  responseFor: { organId: VICTIM, documentId: formatDocumentId(VICTIM, '2026-11-20', '1', 'CV') },
  from: { organId: from },
  statusCode: '03',
  timestamp: '2026-11-30T00:00:00Z',
});

function policy(actFor?: string): EdxmlSenderPolicy {
  const config = Object.assign(new IntegrationBusConfig(), { EDXML_ACT_FOR: actFor });
  // Only the pure checks are used here; refusals (audit + 403) are covered by the medium and e2e tests.
  return new EdxmlSenderPolicy(config, undefined as never, undefined as never);
}

describe('EdxmlSenderPolicy: inbound edXML speaks for its caller only', () => {
  it('accepts a package whose From and DocumentId sender are the caller', () => {
    expect(policy().packageMismatches(principal(), pkg(OWN, OWN))).toEqual([]);
  });

  it('refuses another From, another DocumentId sender, or both (recall included)', () => {
    expect(
      policy()
        .packageMismatches(principal(), pkg(VICTIM, VICTIM, 1))
        .map((m) => m.field),
    ).toEqual(['MessageHeader/From/OrganId', 'MessageHeader/DocumentId']);
    // The "real DocumentId first" trick: own From, the victim's DocumentId.
    expect(
      policy()
        .packageMismatches(principal(), pkg(OWN, VICTIM))
        .map((m) => m.field),
    ).toEqual(['MessageHeader/DocumentId']);
    expect(
      policy()
        .packageMismatches(principal(), pkg(VICTIM, OWN))
        .map((m) => m.field),
    ).toEqual(['MessageHeader/From/OrganId', 'MessageHeader/DocumentId']);
  });

  it('refuses a status posted as another organization', () => {
    expect(policy().statusMismatches(principal(), status(OWN))).toEqual([]);
    expect(policy().statusMismatches(principal(), status(VICTIM))).toEqual([
      { field: 'Status/From/OrganId', value: VICTIM },
    ]);
  });

  it('lets a client act only for the organizations it is explicitly allowed', () => {
    const p = policy(`client-1=${VICTIM}|000.00.00.H03;client-2=000.00.00.H04`);
    expect(p.packageMismatches(principal(), pkg(VICTIM, VICTIM))).toEqual([]);
    expect(p.statusMismatches(principal(), status(VICTIM))).toEqual([]);
    expect(p.packageMismatches(principal({ sub: 'client-2' }), pkg(VICTIM, VICTIM))).toHaveLength(2);
    // Even then From and the DocumentId's sender must agree.
    expect(p.packageMismatches(principal(), pkg(VICTIM, OWN))).toHaveLength(1);
  });

  it('reads EDXML_ACT_FOR', () => {
    expect(parseActFor(undefined).size).toBe(0);
    expect([...parseActFor('a=X|Y;b=Z;a=W').get('a')!]).toEqual(['X', 'Y', 'W']);
  });
});
