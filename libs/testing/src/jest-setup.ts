import 'reflect-metadata';
import { randomBytes } from 'node:crypto';

// Each test file gets its own NATS namespace (subjects, streams, RPC patterns) so files running in
// parallel never hear each other. Set before any module reads it.
process.env.LT_NAMESPACE = `t${randomBytes(4).toString('hex')}`;
