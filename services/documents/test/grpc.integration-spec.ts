import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ProtoFiles, Subjects, type DocumentSendRequestedEvent } from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import { randomUUID } from 'node:crypto';
import { DocumentsGrpcServer } from '../src/grpc/documents.grpc-server';
import { documentBody, DocumentsHarness } from './support/harness';

jest.setTimeout(60_000);

const A = '000.00.00.H01';
const B = '000.00.00.H02';

type Client = grpc.Client &
  Record<
    string,
    (req: unknown, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: any) => void) => void
  >;

describe('gRPC DocumentExchange (same services, same tokens and rules as REST)', () => {
  const h = new DocumentsHarness();
  let client: Client;

  beforeAll(async () => {
    await h.start();
    h.knownOrganizations.add(A).add(B);
    const def = protoLoader.loadSync(ProtoFiles.documents(), {
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: false,
      arrays: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as any;
    const port = h.app.get(DocumentsGrpcServer).port;
    client = new pkg.lienthong.documents.v1.DocumentExchange(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    ) as Client;
  });
  afterAll(async () => {
    client?.close();
    await h.stop();
  });

  function call<T = any>(method: string, req: unknown, token?: string): Promise<T> {
    const md = new grpc.Metadata();
    if (token) md.set('authorization', `Bearer ${token}`);
    return new Promise((resolve, reject) => client[method](req, md, (e, r) => (e ? reject(e) : resolve(r))));
  }

  function grpcBody(overrides: Record<string, unknown> = {}) {
    const b = documentBody(overrides) as Record<string, any>;
    return { ...b, signer: { fullName: b.signer.fullName, position: b.signer.position } };
  }

  it('refuses calls without a valid bearer token', async () => {
    await expect(call('getDocument', { id: randomUUID() })).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
    await expect(call('getDocument', { id: randomUUID() }, 'not-a-jwt')).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
  });

  it('creates, sends, gets and lists with the REST rules', async () => {
    const clerkA = await h.token(A);
    const clerkB = await h.token(B);
    const doc = await call('createDocument', grpcBody({ recipients: [B] }), clerkA);
    expect(doc).toMatchObject({
      direction: 'outgoing',
      organizationCode: A,
      state: 'draft',
      signer: { fullName: 'Nguyễn Văn A' },
    });

    await expect(call('createDocument', grpcBody({ secrecy: 'bogus' }), clerkA)).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(call('createDocument', grpcBody(), await h.token(A, ['specialist']))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
    });
    await expect(call('getDocument', { id: doc.id }, clerkB)).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });

    const sent = await call('sendDocument', { id: doc.id }, clerkA);
    expect(sent).toEqual({ id: doc.id, recipients: [{ organizationCode: B, status: 'queued' }] });
    const twice = await call('sendDocument', { id: doc.id }, clerkA).catch((e: grpc.ServiceError) => e);
    expect((twice as grpc.ServiceError).code).toBe(grpc.status.ABORTED);
    expect((twice as grpc.ServiceError).metadata.get('error-code')).toEqual(['DOCUMENT_ALREADY_SENT']);

    const classified = await call('createDocument', grpcBody({ recipients: [B], secrecy: 'secret' }), clerkA);
    const refused = await call(
      'sendDocument',
      { id: classified.id },
      await h.token(A, ['clerk', 'cleared']),
    ).catch((e: grpc.ServiceError) => e);
    expect((refused as grpc.ServiceError).code).toBe(grpc.status.FAILED_PRECONDITION);
    expect((refused as grpc.ServiceError).metadata.get('error-code')).toEqual(['DOCUMENT_CLASSIFIED']);

    // Deliver through the bus contract, then the receiver works the document over gRPC.
    const ev = (await eventually(async () =>
      (await h.streamEvents<DocumentSendRequestedEvent>(Subjects.documentSendRequested())).find(
        (e) => e.data.documentId === doc.id,
      ),
    ))!;
    await h.deliver({
      deliveryId: randomUUID(),
      sourceDocumentId: doc.id,
      edxmlDocumentId: doc.id,
      fromOrganizationCode: A,
      toOrganizationCode: B,
      document: ev.data.document,
      attachments: [],
    });
    const page = await eventually(async () => {
      const r = await call('listIncoming', {}, clerkB);
      return r.items?.length ? r : undefined;
    });
    const incoming = page!.items[0];
    expect(incoming).toMatchObject({
      direction: 'incoming',
      fromOrganizationCode: A,
      arrivalNumber: 1,
      status: 'arrived',
      statusCode: '01',
    });

    await expect(
      call('updateStatus', { id: incoming.id, status: 'completed' }, clerkB),
    ).rejects.toMatchObject({ code: grpc.status.ABORTED });
    await expect(call('updateStatus', { id: incoming.id, status: 'rejected' }, clerkB)).rejects.toMatchObject(
      { code: grpc.status.INVALID_ARGUMENT },
    );
    const accepted = await call('updateStatus', { id: incoming.id, status: 'accepted' }, clerkB);
    expect(accepted).toMatchObject({ status: 'accepted', statusCode: '03' });
    const got = await call('getDocument', { id: incoming.id }, clerkB);
    expect(got.status).toBe('accepted');
  });

  it('updates, replaces and recalls over gRPC with the REST rules', async () => {
    const clerkA = await h.token(A);
    const doc = await call('createDocument', grpcBody({ recipients: [B] }), clerkA);
    const notSent = await call(
      'updateDocument',
      { id: doc.id, reason: 'r', changes: { subject: 'x' } },
      clerkA,
    ).catch((e: grpc.ServiceError) => e);
    expect((notSent as grpc.ServiceError).code).toBe(grpc.status.ABORTED);
    expect((notSent as grpc.ServiceError).metadata.get('error-code')).toEqual(['DOCUMENT_NOT_SENT']);
    await call('sendDocument', { id: doc.id }, clerkA);

    const empty = await call('updateDocument', { id: doc.id, reason: 'r', changes: {} }, clerkA).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((empty as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((empty as grpc.ServiceError).metadata.get('error-fields')).toEqual(['changes']);
    const noReason = await call('updateDocument', { id: doc.id, changes: { subject: 'x' } }, clerkA).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((noReason as grpc.ServiceError).metadata.get('error-fields')).toEqual(['reason']);

    const updated = await call(
      'updateDocument',
      { id: doc.id, reason: 'Đính chính', changes: { subject: 'Trích yếu mới', urgency: 'urgent' } },
      clerkA,
    );
    expect(updated).toMatchObject({
      subject: 'Trích yếu mới',
      urgency: 'urgent',
      history: [
        { businessType: 2, reason: 'Đính chính', changes: { subject: 'Trích yếu mới', urgency: 'urgent' } },
      ],
    });

    const replacement = await call('createDocument', grpcBody({ recipients: [], replaces: doc.id }), clerkA);
    expect(replacement).toMatchObject({ replaces: doc.id, recipients: [{ organizationCode: B }] });
    const twice = await call('createDocument', grpcBody({ replaces: doc.id }), clerkA).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((twice as grpc.ServiceError).metadata.get('error-code')).toEqual(['DOCUMENT_ALREADY_REPLACED']);

    const recalled = await call('recallDocument', { id: doc.id, reason: 'Ban hành nhầm' }, clerkA);
    expect(recalled).toMatchObject({ state: 'recalled' });
    expect(recalled.history.map((e: { businessType: number }) => e.businessType)).toEqual([2, 1]);
    await expect(call('recallDocument', { id: doc.id, reason: 'again' }, clerkA)).rejects.toMatchObject({
      code: grpc.status.ABORTED,
    });
  });
});
