export * from './namespace';
export * from './subjects';
export * from './envelope';
export * from './audit';
export * from './identity';
export * from './documents';
export * from './rpc';
export * from './event-map';
