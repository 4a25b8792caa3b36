export * from './test-infra';
export * from './nats-server-process';
export * from './test-tokens';
export * from './service-env';
export * from './pdf-signing';
export * from './postgres-cluster-process';
