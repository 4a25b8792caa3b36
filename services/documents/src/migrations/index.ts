import { Init1763800000000 } from './1763800000000-Init';
import { Documents1763900000000 } from './1763900000000-Documents';
import { SignatureVerifications1764400000000 } from './1764400000000-SignatureVerifications';
import { DocumentNumberUnique1764500000000 } from './1764500000000-DocumentNumberUnique';
import { PipelineDirectory1764900000000 } from './1764900000000-PipelineDirectory';
import { OrganizationFeed1765000000000 } from './1765000000000-OrganizationFeed';
import { DocumentLifecycle1765100000000 } from './1765100000000-DocumentLifecycle';
import { RecipientGroups1765200000000 } from './1765200000000-RecipientGroups';
import { Subscriptions1765300000000 } from './1765300000000-Subscriptions';
import { RecipientStatusChanges1765600000000 } from './1765600000000-RecipientStatusChanges';
import { DocumentsWriteCost1766550000000 } from './1766550000000-DocumentsWriteCost';
import { SearchOncePerDocument1766550000001 } from './1766550000001-SearchOncePerDocument';
import { OutboxEnvelopeText1766600000001 } from './1766600000001-OutboxEnvelopeText';

/** In order of application. */
export const migrations = [
  Init1763800000000,
  Documents1763900000000,
  SignatureVerifications1764400000000,
  DocumentNumberUnique1764500000000,
  PipelineDirectory1764900000000,
  OrganizationFeed1765000000000,
  DocumentLifecycle1765100000000,
  RecipientGroups1765200000000,
  Subscriptions1765300000000,
  RecipientStatusChanges1765600000000,
  DocumentsWriteCost1766550000000,
  SearchOncePerDocument1766550000001,
  OutboxEnvelopeText1766600000001,
];
