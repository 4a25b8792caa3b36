import { outboxWakeAll } from './events';
import { NAMESPACE, streamName } from './namespace';
import { Buckets, RpcSubjects, SERVICE_NAMES, Streams, Subjects, type ServiceName } from './subjects';

/**
 * Who may do what on NATS, derived from the subjects and streams of this package so that the server's
 * authorization cannot drift from the code. `scripts/nats-config.mjs` renders it as nats-server
 * configuration (deploy/nats/authorization.conf); the e2e attack suite starts servers with it.
 */
export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
  /** May answer requests it received (RPC handlers), whatever the requester's inbox. */
  allow_responses?: boolean;
}

/**
 * A service's inbox prefix: replies to its requests and the messages of its pull consumers arrive under it,
 * and only it may subscribe there (others cannot read its JetStream deliveries).
 */
export function serviceInboxPrefix(service: string): string {
  return `_INBOX.${service.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/**
 * Where a stream sourced across a leaf-node link receives its messages: `<prefix>.S.<id>`. It names the
 * sourcing node and the domain sourced from, so the hub can let each node receive only its own deliveries.
 */
export function sourceDeliveryPrefix(sourcingNodeId: string, fromDomain: string): string {
  return `ltsrc.${NAMESPACE}.${sourcingNodeId}.${fromDomain}`;
}

/** The JetStream API prefix of a domain (`$JS.<domain>.API`), or the local one. */
export function jsApi(domain?: string): string {
  return domain ? `$JS.${domain}.API` : '$JS.API';
}

interface StreamUse {
  /** Streams the service owns: declares, updates, purges, reads by sequence/subject. */
  owns: string[];
  /** Streams of others it declares at boot so that they exist (info and create, never update or purge). */
  declares: string[];
  /** Streams it has durable (or ordered) consumers on. */
  consumes: string[];
  /** Platform subjects it publishes (events, outbox, dead letters, object chunks). */
  publishes: string[];
  /** Request subjects it sends (other services' RPC methods). */
  requests: string[];
  /** Core NATS subjects it listens on besides its inbox and RPC methods. */
  subscribes?: string[];
}

/** What each service does on NATS (libs/contracts is the one place that knows subjects). */
export function serviceNatsUse(service: ServiceName, nodeId: string): StreamUse {
  const dlq = Streams.deadLetters().name;
  const info = SERVICE_NAMES.map((s) => RpcSubjects.serviceInfo(s));
  const attachments = Buckets.attachments();
  const objectStream = `OBJ_${attachments}`;
  // Every service's outbox relay wakes its replicas after a commit (core NATS, libs/common outbox.relay.ts).
  const common = {
    publishes: [Subjects.auditEvent(service), Subjects.deadLetterAll(), outboxWakeAll()],
    requests: info,
  };
  // Every service follows identity's token revocations (libs/common revocation-list.ts, an ordered consumer).
  const revocations = Streams.revocations().name;
  switch (service) {
    case 'identity':
      return {
        owns: [Streams.identity().name, Streams.directory().name, directoryReplica(), revocations],
        declares: [Streams.audit().name, dlq],
        consumes: [directoryReplica(), revocations],
        publishes: [
          ...common.publishes,
          Subjects.identityAll(),
          Subjects.directoryAll(),
          Subjects.revocationsAll(),
        ],
        requests: common.requests,
      };
    case 'documents':
      return {
        owns: [Streams.documents().name, objectStream],
        declares: [Streams.audit().name, Streams.bus().name, Streams.identity().name, dlq],
        // IDENTITY: `organization.changed` feeds documents' local organization directory.
        consumes: [Streams.bus().name, Streams.identity().name, objectStream, revocations],
        publishes: [...common.publishes, Subjects.documentsAll(), `$O.${attachments}.>`],
        requests: [
          ...common.requests,
          RpcSubjects.organizationSubtree,
          RpcSubjects.organizationResolve,
          // Archive packages carry the audit inclusion proofs of each document's events.
          RpcSubjects.auditResourceProofs,
        ],
      };
    case 'integration-bus':
      return {
        owns: [Streams.bus().name, streamName('FEDOUT'), streamName(`FEDIN_${nodeId}`), objectStream],
        declares: [
          Streams.documents().name,
          Streams.identity().name,
          Streams.audit().name,
          Streams.witness().name,
          dlq,
        ],
        consumes: [
          Streams.documents().name,
          Streams.identity().name,
          Streams.witness().name,
          streamName(`FEDIN_${nodeId}`),
          objectStream,
          revocations,
        ],
        publishes: [
          ...common.publishes,
          Subjects.busAll(),
          Subjects.federationAll(),
          Subjects.witnessSubmitted(),
          Subjects.witnessCosigned(),
          Subjects.busAxisWake(),
          `$O.${attachments}.>`,
        ],
        // Bus replicas wake each other when national-axis exchanges are queued.
        subscribes: [Subjects.busAxisWake()],
        requests: [...common.requests, RpcSubjects.organizationResolve, RpcSubjects.organizationUpsertState],
      };
    case 'audit':
      return {
        owns: [Streams.audit().name, Streams.witness().name],
        declares: [dlq],
        consumes: [Streams.audit().name, Streams.witness().name, revocations],
        publishes: [...common.publishes, Subjects.witnessCheckpointSigned(), Subjects.witnessCosigned()],
        requests: [...common.requests, RpcSubjects.organizationSubtree],
      };
  }
}

/** Identity's replica of the centre's directory on a provincial node (identity's directory.replica.ts). */
function directoryReplica(): string {
  return streamName('DIRECTORY_REPLICA');
}

/** The subjects a service's NATS user may publish to and subscribe on. */
export function servicePermissions(service: ServiceName, nodeId: string): NatsPermissions {
  const use = serviceNatsUse(service, nodeId);
  const api = jsApi();
  const publish = new Set<string>([...use.publishes, ...use.requests, `${api}.INFO`]);
  for (const s of use.declares) {
    publish.add(`${api}.STREAM.INFO.${s}`);
    publish.add(`${api}.STREAM.CREATE.${s}`);
  }
  for (const s of use.owns) {
    publish.add(`${api}.STREAM.*.${s}`); // INFO, CREATE, UPDATE, PURGE, DELETE
    publish.add(`${api}.STREAM.MSG.GET.${s}`);
    publish.add(`${api}.DIRECT.GET.${s}`);
    publish.add(`${api}.DIRECT.GET.${s}.>`);
  }
  for (const s of use.consumes) {
    publish.add(`${api}.STREAM.INFO.${s}`);
    publish.add(`${api}.CONSUMER.*.${s}`);
    publish.add(`${api}.CONSUMER.*.${s}.>`); // INFO, CREATE (with name and filter), DELETE
    publish.add(`${api}.CONSUMER.DURABLE.CREATE.${s}.>`);
    publish.add(`${api}.CONSUMER.MSG.NEXT.${s}.>`);
    publish.add(`$JS.ACK.${s}.>`);
  }
  const own = RpcSubjects.serviceInfo(service).replace(/\.info$/, '.>');
  // Identity's RPC methods (`<ns>.rpc.identity.organization.*`) are under its own prefix too.
  const subscribe = [`${serviceInboxPrefix(service)}.>`, own, outboxWakeAll(), ...(use.subscribes ?? [])];
  return { publish: { allow: [...publish] }, subscribe: { allow: subscribe }, allow_responses: true };
}

/** The NATS user a provincial node's leaf connection logs in as at the hub. */
export function leafUser(nodeId: string): string {
  return `leaf-${nodeId}`;
}

export interface LeafNodeGrant {
  /** The provincial node (NODE_ID) and its JetStream domain. */
  nodeId: string;
  domain: string;
}

/**
 * What the hub lets one leaf node do, from the hub's side (so a leaf that drops its own deny rules gains
 * nothing): create consumers only on FEDOUT filtered to messages addressed to it and on the directory;
 * receive only the deliveries of its own sources; answer the hub's sourcing of its FEDOUT (filtered to
 * messages for the hub) and deliver them on the hub's prefix for this leaf. Nothing of the namespace's own
 * subjects (`lt.>`), no other JetStream API call.
 */
export function leafNodePermissions(
  hub: { nodeId: string; domain: string },
  leaf: LeafNodeGrant,
): NatsPermissions {
  const fedout = streamName('FEDOUT');
  const directory = Streams.directory().name;
  const hubApi = jsApi(hub.domain);
  const leafApi = jsApi(leaf.domain);
  return {
    publish: {
      allow: [
        `${hubApi}.CONSUMER.CREATE.${fedout}.*.${Subjects.federationTo(leaf.nodeId)}`,
        `${hubApi}.CONSUMER.CREATE.${directory}`,
        `${hubApi}.CONSUMER.CREATE.${directory}.>`,
        `$JS.FC.${fedout}.>`,
        `$JS.FC.${directory}.>`,
        `${sourceDeliveryPrefix(hub.nodeId, leaf.domain)}.>`,
        // Answers to the hub's consumer-create requests on the leaf's FEDOUT (the hub propagates interest in
        // a reply subject only to connections allowed to publish there).
        '$JSC.R.>',
      ],
    },
    subscribe: {
      allow: [
        `${sourceDeliveryPrefix(leaf.nodeId, hub.domain)}.>`,
        // Requests to the leaf's own JetStream domain (the hub's sourcing of its FEDOUT); only the hub's own
        // JetStream may send them (services may not publish to any `$JS.<domain>.API`).
        `${leafApi}.CONSUMER.>`,
        `$JS.FC.${fedout}.>`,
        // Answers to the leaf's own consumer-create requests.
        '$JSC.R.>',
      ],
    },
    allow_responses: true,
  };
}

function list(items: string[], indent: string): string {
  return `[\n${items.map((i) => `${indent}  ${JSON.stringify(i)}`).join('\n')}\n${indent}]`;
}

function permissionsBlock(p: NatsPermissions, indent: string): string {
  return [
    `${indent}permissions: {`,
    `${indent}  publish: { allow: ${list(p.publish.allow, `${indent}  `)} }`,
    `${indent}  subscribe: { allow: ${list(p.subscribe.allow, `${indent}  `)} }`,
    ...(p.allow_responses ? [`${indent}  allow_responses: true`] : []),
    `${indent}}`,
  ].join('\n');
}

export interface HubAuthorizationOptions {
  /** This node's id and JetStream domain. */
  nodeId: string;
  domain?: string;
  /** Password (or `$ENV_VAR` reference) of each service user. */
  servicePasswords: Record<ServiceName, string>;
  /** Leaf nodes allowed to join (user `leaf-<nodeId>`), with their password (or `$ENV_VAR`). */
  leaves?: (LeafNodeGrant & { password: string })[];
  /** `listen` of the leaf-node port (e.g. `0.0.0.0:7422`). */
  leafListen?: string;
  /** Extra users in the platform account (operators' tools), with full permissions. */
  adminPassword?: string;
}

function value(v: string): string {
  return v.startsWith('$') ? v : JSON.stringify(v);
}

/**
 * nats-server configuration for a node: one account `LIENTHONG` with JetStream, a user per service limited
 * to its subjects, and — on the hub — leaf-node users bound to that account with the permissions above.
 */
export function natsAuthorizationConfig(o: HubAuthorizationOptions): string {
  const users = SERVICE_NAMES.map((s) =>
    [
      `      {`,
      `        user: ${JSON.stringify(s)}`,
      `        password: ${value(o.servicePasswords[s])}`,
      permissionsBlock(servicePermissions(s, o.nodeId), '        '),
      `      }`,
    ].join('\n'),
  );
  if (o.adminPassword) users.push(`      { user: "admin", password: ${value(o.adminPassword)} }`);
  // Leaf nodes log in as users of the account (nats-server 2.9 has no permissions on leafnode-only users);
  // the hub applies these permissions to everything the leaf connection sends and asks to receive.
  for (const l of o.leaves ?? []) {
    users.push(
      [
        `      {`,
        `        user: ${JSON.stringify(leafUser(l.nodeId))}`,
        `        password: ${value(l.password)}`,
        permissionsBlock(
          leafNodePermissions({ nodeId: o.nodeId, domain: o.domain ?? o.nodeId }, l),
          '        ',
        ),
        `      }`,
      ].join('\n'),
    );
  }
  const out = [
    `# Generated from libs/contracts (nats-authorization.ts) for node ${o.nodeId}: do not edit by hand.`,
    `accounts {`,
    `  LIENTHONG {`,
    `    jetstream: enabled`,
    `    users: [`,
    users.join('\n'),
    `    ]`,
    `  }`,
    `}`,
  ];
  if (o.leafListen) out.push(`leafnodes { listen: ${JSON.stringify(o.leafListen)} }`);
  return `${out.join('\n')}\n`;
}
