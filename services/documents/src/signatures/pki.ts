/* pkijs and asn1js ship as ES modules only. Node ≥ 20.19 loads them with require(); the types come through
   an import-mode type import, so this CommonJS service can use them without a dynamic import. */
import type * as Asn1js from 'asn1js' with { 'resolution-mode': 'import' };
import type * as Pkijs from 'pkijs' with { 'resolution-mode': 'import' };

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const asn1js: typeof Asn1js = require('asn1js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const pkijs: typeof Pkijs = require('pkijs');
export type { Asn1js, Pkijs };
