import { BaseServiceConfig } from '@lienthong/common';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUrl, Matches, Max, MaxLength, Min } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value);

/** Environment of the integration-bus service (API.md, Configuration). Validated once at boot. */
export class IntegrationBusConfig extends BaseServiceConfig {
  /** Production never generates the node certificate (see loadConfig). */
  static readonly PRODUCTION_SECRETS = [
    ['NODE_CERT_PEM', 'NODE_CERT_PEM_FILE'],
    ['NODE_KEY_PEM', 'NODE_KEY_PEM_FILE'],
  ];
  override PORT = 3003;
  override DB_SCHEMA = 'bus';

  /** The national axis (NATIONAL-AXIS.md); unset = no national route. */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  NATIONAL_AXIS_URL?: string;

  @IsOptional()
  @Matches(/^[0-9A-Z]+(\.[0-9A-Z]+)*$/, { message: 'NATIONAL_AXIS_SYSTEM_ID must be an organization code' })
  @MaxLength(35)
  NATIONAL_AXIS_SYSTEM_ID?: string;

  @IsOptional()
  @IsString()
  @MaxLength(512)
  NATIONAL_AXIS_SECRET?: string;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  NATIONAL_AXIS_POLL_MS: number = 10_000;

  /**
   * While items come, the poller's pause after a round that took fewer than NATIONAL_AXIS_BATCH items (a
   * full round goes again at once): more statuses per round, so fewer list calls, queries and commits each.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10_000)
  NATIONAL_AXIS_GATHER_MS: number = 50;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120_000)
  NATIONAL_AXIS_TIMEOUT_MS: number = 15_000;

  /** Calls to the axis in flight at once per bus replica (sending packages). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(256)
  NATIONAL_AXIS_CONCURRENCY: number = 16;

  /** National-axis exchanges one sender round claims (whole documents are completed beyond it). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(5_000)
  NATIONAL_AXIS_BATCH: number = 128;

  /** Node certificate and key (PEM text or a file path); generated when unset. */
  @IsOptional() @IsString() NODE_CERT_PEM?: string;
  @IsOptional() @IsString() NODE_CERT_PEM_FILE?: string;
  @IsOptional() @IsString() NODE_KEY_PEM?: string;
  @IsOptional() @IsString() NODE_KEY_PEM_FILE?: string;

  // NODE_ENV (BaseServiceConfig): in production a missing node certificate stops the boot.

  /** PEM file of the node certificates trusted for federation packages (or the PEM text itself). */
  @IsOptional()
  @IsString()
  TRUSTED_NODE_CERTS?: string;

  /**
   * Federation peers whose messages this node receives, `nodeId@jetstreamDomain` separated by commas (the
   * domain of a node on the same JetStream may be left out: `prov1`). Unset: every node shares this
   * JetStream (single-domain deployment).
   */
  @IsOptional()
  @Matches(
    /^[a-z0-9][a-z0-9-]{0,31}(@[A-Za-z0-9_-]{1,64})?(,[a-z0-9][a-z0-9-]{0,31}(@[A-Za-z0-9_-]{1,64})?)*$/,
    {
      message: 'FEDERATION_PEERS must be nodeId[@jetstreamDomain] separated by commas',
    },
  )
  FEDERATION_PEERS?: string;

  /** The node whose audit service witnesses this node's checkpoints (the central node); unset = none. */
  @IsOptional()
  @Matches(/^[a-z0-9][a-z0-9-]{0,31}$/, { message: 'FEDERATION_WITNESS_NODE must be a node id' })
  FEDERATION_WITNESS_NODE?: string;

  /** Packages above this size cross in raw parts of this size; smaller ones travel inline. */
  @Transform(toInt)
  @IsInt()
  @Min(16 * 1024)
  @Max(900 * 1024)
  FEDERATION_PART_BYTES: number = 512 * 1024;

  /**
   * Receivers' answers to another node per signed `statuses` message (StatusRelay.relayToNodes). 0 = one
   * `status` message per answer, what a node before 2026-11-30 understands (during a rolling upgrade).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(500)
  FEDERATION_STATUS_BATCH: number = 500;

  /**
   * How often (ms) the bus looks at FEDIN's sources from other JetStream domains to restart one that stalled
   * (federation/source-watch.ts): after the leaf link returns the backlog flows within this, not after
   * nats-server's 5–30 s consumer set-up timeout. 0 = off.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60_000)
  FEDERATION_SOURCE_CHECK_MS: number = 250;

  /** How long federation messages wait in FEDOUT/FEDIN (covers the longest link outage). */
  @Transform(toInt)
  @IsInt()
  @Min(60_000)
  @Max(90 * 24 * 3_600_000)
  FEDERATION_RETENTION_MS: number = 14 * 24 * 3_600_000;

  /**
   * Where edXML packages are written while they are sent, and where the attachments of received packages are
   * decoded to (above EDXML_IN_MEMORY_BYTES) until they are in the object store (the OS temporary directory when
   * unset). An outgoing package is about 4/3 of its attachments plus a few KB; files are removed once used.
   */
  @IsOptional()
  @IsString()
  EDXML_TEMP_DIR?: string;

  /**
   * An outgoing package of at most this many bytes is built in memory and sent from there (most documents:
   * no temporary file); a larger one is written to EDXML_TEMP_DIR. 0 writes every package to a file.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(64 * 1024 * 1024)
  EDXML_MEMORY_MAX_BYTES: number = 4 * 1024 * 1024;

  /**
   * The largest edXML package received (413 / refused above). Received packages are streamed (edxml.reader.ts):
   * attachments are decoded to EDXML_TEMP_DIR, not held, so this is bounded by disk, not memory.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(16 * 1024 * 1024 * 1024)
  EDXML_MAX_BYTES: number = 512 * 1024 * 1024;

  /**
   * The part of a received package that is held and DOM-parsed: everything but the attachments' contents
   * (header, metadata, signature). 413 EDXML_TOO_LARGE above (or above EDXML_INFLIGHT_BYTES when smaller).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(256 * 1024 * 1024)
  EDXML_METADATA_MAX_BYTES: number = 8 * 1024 * 1024;

  /** Decoded attachment bytes of one received package kept in memory; above, they go to EDXML_TEMP_DIR. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(256 * 1024 * 1024)
  EDXML_IN_MEMORY_BYTES: number = 4 * 1024 * 1024;

  /**
   * Memory for received edXML held at once by this process (POST /api/v1/edxml): a request reserves what it
   * may hold — its declared length, at most EDXML_METADATA_MAX_BYTES + EDXML_IN_MEMORY_BYTES — before its
   * body is read, and waits while that does not fit. The metadata of a package may not exceed it (413).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(4 * 1024 * 1024 * 1024)
  EDXML_INFLIGHT_BYTES: number = 96 * 1024 * 1024;

  /** At most this many `To` entries in one package (400 above). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  EDXML_MAX_RECIPIENTS: number = 20_000;

  /**
   * Exchange clients allowed to post edXML for organizations other than their own:
   * `clientId=CODE|CODE;clientId2=CODE`. Unset: every client speaks for its own organization only.
   */
  @IsOptional()
  @Matches(/^[^=;|]+=[0-9A-Za-z.]+(\|[0-9A-Za-z.]+)*(;[^=;|]+=[0-9A-Za-z.]+(\|[0-9A-Za-z.]+)*)*$/, {
    message: 'EDXML_ACT_FOR must be clientId=CODE|CODE;clientId2=CODE',
  })
  EDXML_ACT_FOR?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  EXCHANGE_MAX_ATTEMPTS: number = 10;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(90 * 24 * 3_600_000)
  EXCHANGE_TTL_MS: number = 3 * 24 * 3_600_000;

  /** First retry delay; doubles per attempt (with jitter) up to EXCHANGE_RETRY_MAX_MS. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  EXCHANGE_RETRY_BASE_MS: number = 5_000;

  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(24 * 3_600_000)
  EXCHANGE_RETRY_MAX_MS: number = 15 * 60_000;

  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(60_000)
  EXCHANGE_SCHEDULER_MS: number = 1_000;

  /** Parsed FEDERATION_PEERS; `domain` undefined = same JetStream as this node. */
  get federationPeers(): { nodeId: string; domain?: string }[] {
    return (this.FEDERATION_PEERS ?? '')
      .split(',')
      .filter(Boolean)
      .map((p) => {
        const [nodeId, domain] = p.split('@');
        return { nodeId, domain: domain || undefined };
      });
  }

  get nationalAxisEnabled(): boolean {
    return !!(this.NATIONAL_AXIS_URL && this.NATIONAL_AXIS_SYSTEM_ID && this.NATIONAL_AXIS_SECRET);
  }
}
