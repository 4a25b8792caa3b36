import { expandVariadicTo, parseCli, UsageError, type SendArgs } from './args';

const usage = (argv: string[]) => {
  try {
    parseCli(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
};

describe('lienthong command line', () => {
  it('takes recipient codes after --to, repeated, or comma-separated, and leaves the file alone', () => {
    expect(expandVariadicTo(['--to', '000.01.00.P01', '000.02.00.P02', 'cong-van.pdf'])).toEqual([
      '--to',
      '000.01.00.P01',
      '--to',
      '000.02.00.P02',
      'cong-van.pdf',
    ]);
    const a = parseCli([
      'send',
      '--to',
      '000.01.00.P01,000.02.00.P02',
      '--to=000.03.00.P03',
      '--to',
      '000.01.00.P01',
      'QD-15.PDF.pdf',
      '--number',
      '15',
    ]) as SendArgs;
    expect(a.to).toEqual(['000.01.00.P01', '000.02.00.P02', '000.03.00.P03']);
    expect(a.file).toBe('QD-15.PDF.pdf');
    expect(a.number).toBe('15');
  });

  it('fills the documented defaults of send', () => {
    const a = parseCli(['send', '--to', 'G09', 'a.pdf']) as SendArgs;
    expect(a).toMatchObject({
      command: 'send',
      notation: 'CV',
      type: 'CV',
      typeName: 'Công văn',
      secrecy: 'none',
      urgency: 'normal',
      signerPosition: 'Chánh Văn phòng',
      steering: false,
      progress: true,
      json: false,
    });
    expect(a.number).toBeUndefined();
    expect(a.subject).toBeUndefined();
    const b = parseCli([
      'send',
      '--to',
      'G09',
      'a.pdf',
      '--type',
      'QD',
      '--urgency',
      'flash',
      '--no-progress',
    ]);
    expect(b).toMatchObject({ type: 'QD', urgency: 'flash', progress: false });
    expect((b as SendArgs).typeName).toBeUndefined();
  });

  it('refuses bad send lines with a message naming the problem', () => {
    expect(usage(['send', 'a.pdf'])).toMatch(/--to CODE… is required/);
    expect(usage(['send', '--to', 'abc', 'a.pdf'])).toMatch(/--to abc: not an organization code/);
    expect(usage(['send', '--to', 'G09'])).toMatch(/the file to send is missing/);
    expect(usage(['send', '--to', 'G09', 'a.pdf', 'b.pdf'])).toMatch(/one file only/);
    expect(usage(['send', '--to', 'G09', 'a.pdf', '--secrecy', 'mat'])).toMatch(/--secrecy must be one of/);
    expect(usage(['send', '--to', 'G09', 'a.pdf', '--date', '30/11/2026'])).toMatch(
      /--date must be YYYY-MM-DD/,
    );
    expect(usage(['send', '--to', 'G09', 'a.pdf', '--colour', 'red'])).toMatch(/colour/);
    expect(usage(['send', '--to'])).toMatch(/at least one organization code/);
  });

  it('reads connection flags on any command and checks URLs', () => {
    const a = parseCli([
      'inbox',
      '--url',
      'https://lienthong.example/',
      '--documents-url',
      'http://10.0.0.2:3002',
      '--bus-url',
      'http://10.0.0.3:3003',
      '--grpc',
      '10.0.0.2:50052',
      '--grpc-tls',
      '--limit',
      '20',
      '--json',
    ]);
    expect(a).toMatchObject({
      command: 'inbox',
      limit: 20,
      json: true,
      connection: {
        baseUrl: 'https://lienthong.example',
        urls: { documents: 'http://10.0.0.2:3002', 'integration-bus': 'http://10.0.0.3:3003' },
        grpcAddress: '10.0.0.2:50052',
        grpcTls: true,
      },
    });
    expect(usage(['inbox', '--url', 'ftp://x'])).toMatch(/not an http\(s\) URL/);
    expect(usage(['inbox', '--limit', 'ten'])).toMatch(/--limit must be a number/);
  });

  it('login: a person or a connected system, never both', () => {
    expect(parseCli(['login', '-u', 'tw.clerk', '--password-stdin'])).toMatchObject({
      command: 'login',
      username: 'tw.clerk',
      passwordStdin: true,
    });
    expect(parseCli(['login', '--client-id', 'c1', '--client-secret-stdin'])).toMatchObject({
      clientId: 'c1',
      clientSecretStdin: true,
    });
    expect(usage(['login', '-u', 'a', '--client-id', 'c1'])).toMatch(/either --username/);
    expect(usage(['login', '--client-secret-stdin'])).toMatch(/needs --client-id/);
  });

  it('accept needs one id; watch takes a cursor, event types and an interval', () => {
    expect(parseCli(['accept', 'abc-1'])).toMatchObject({ command: 'accept', id: 'abc-1' });
    expect(usage(['accept'])).toMatch(/one incoming document/);
    expect(
      parseCli(['watch', '--cursor', '42', '--events', 'document.incoming,document.status']),
    ).toMatchObject({
      command: 'watch',
      cursor: '42',
      events: ['document.incoming', 'document.status'],
      intervalMs: 5000,
    });
    expect(parseCli(['watch', '--interval', '0.5'])).toMatchObject({ intervalMs: 500 });
    expect(usage(['watch', '--interval', '0'])).toMatch(/positive number/);
  });

  it('help and unknown commands', () => {
    expect(parseCli([])).toEqual({ command: 'help', topic: undefined });
    expect(parseCli(['help', 'send'])).toEqual({ command: 'help', topic: 'send' });
    expect(parseCli(['send', '--help'])).toEqual({ command: 'help', topic: 'send' });
    expect(usage(['frobnicate'])).toMatch(/unknown command "frobnicate"/);
  });
});
