import { join } from 'node:path';

/** .proto files shipped with the contracts (resolved from src/ in tests and dist/ at run time alike). */
export const ProtoFiles = {
  documents: () => join(__dirname, '..', 'proto', 'documents.proto'),
} as const;
export const DOCUMENTS_GRPC_SERVICE = 'lienthong.documents.v1.DocumentExchange';
