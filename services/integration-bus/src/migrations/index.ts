import { Init1763800000000 } from './1763800000000-Init';
import { Exchanges1764000000000 } from './1764000000000-Exchanges';
import { NationalAxisLeg1764600000000 } from './1764600000000-NationalAxisLeg';
import { BusinessKey1765110000000 } from './1765110000000-BusinessKey';
import { LeanExchangeRows1766560000000 } from './1766560000000-LeanExchangeRows';
import { OutboxEnvelopeText1766600000002 } from './1766600000002-OutboxEnvelopeText';

/** In order of application. */
export const migrations = [
  Init1763800000000,
  Exchanges1764000000000,
  NationalAxisLeg1764600000000,
  BusinessKey1765110000000,
  LeanExchangeRows1766560000000,
  OutboxEnvelopeText1766600000002,
];
