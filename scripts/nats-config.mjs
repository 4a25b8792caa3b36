// Renders the NATS authorization of a node from libs/contracts (run `npm run build` or `npx tsc -b
// tsconfig.build.json` first): an account with JetStream, one user per service limited to its subjects, and on
// the hub one leaf-node user per provincial node, limited to what federation sourcing needs.
//
//   node scripts/nats-config.mjs --node central --domain central \
//     --leaf province-01@province-01 --leaf-listen 0.0.0.0:7422 > deploy/nats/authorization.conf
//
// Passwords are never written: the config references environment variables of the nats-server process
// (IDENTITY_NATS_PASSWORD, DOCUMENTS_NATS_PASSWORD, INTEGRATION_BUS_NATS_PASSWORD, AUDIT_NATS_PASSWORD and
// LEAF_<NODE>_NATS_PASSWORD per leaf). LT_NAMESPACE applies as for the services.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
require('reflect-metadata'); // the contracts' DTO classes carry validation decorators
const { natsAuthorizationConfig, SERVICE_NAMES } = require('../libs/contracts/dist/index.js');

const { values } = parseArgs({
  options: {
    node: { type: 'string', default: 'central' },
    domain: { type: 'string' },
    leaf: { type: 'string', multiple: true, default: [] },
    'leaf-listen': { type: 'string' },
  },
});
const envName = (s) => `${s.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_NATS_PASSWORD`;
process.stdout.write(
  natsAuthorizationConfig({
    nodeId: values.node,
    domain: values.domain ?? values.node,
    servicePasswords: Object.fromEntries(SERVICE_NAMES.map((s) => [s, `$${envName(s)}`])),
    leaves: values.leaf.map((l) => {
      const [nodeId, domain] = l.split('@');
      return { nodeId, domain: domain ?? nodeId, password: `$${envName(`leaf-${nodeId}`)}` };
    }),
    leafListen: values['leaf-listen'],
  }),
);
