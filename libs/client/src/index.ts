export * from './client';
export * from './errors';
export * from './model';
export * from './transport';
export * from './watch';
export * from './generated';
export { parseCli, expandVariadicTo, UsageError, USAGE } from './cli/args';
export type { CliArgs } from './cli/args';
