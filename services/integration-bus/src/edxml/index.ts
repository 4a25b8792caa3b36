export * from './edxml.errors';
export * from './edxml.types';
export * from './edxml.format';
export * from './edxml.builder';
export * from './edxml.parser';
export * from './edxml.signature';
export * from './node-certificate';
export { parseSafeXml } from './safe-xml';
export * from './edxml.stream';
