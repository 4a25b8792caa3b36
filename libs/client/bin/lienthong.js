#!/usr/bin/env node
// `npx lienthong …`: the CLI of libs/client (built by `npx tsc -b tsconfig.build.json` or `npm run build`).
'use strict';
const { join } = require('node:path');
let main;
try {
  ({ main } = require(join(__dirname, '..', 'dist', 'cli', 'main.js')));
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND') {
    process.stderr.write('lienthong: the client is not built; run `npm run build` in the repository first\n');
    process.exit(2);
  }
  throw e;
}
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
