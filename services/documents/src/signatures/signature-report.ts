export interface SignatureReport {
  present: boolean;
  valid: boolean;
  trusted: boolean;
  /** Common name of the certificate the SignerInfo identifies (the one whose key verified the signature). */
  signer?: string;
  issuer?: string;
  /** The proven time when `signedAtSource` is `timestamp`, else the time the signer claims. */
  signedAt?: string;
  signedAtSource?: 'timestamp' | 'claimed';
  subFilter?: string;
  /** The byte range covers the whole file except the signature (false for a signature of an earlier revision). */
  coversWholeDocument?: boolean;
  problem?: string;
}

export interface VerificationResult {
  /** The overall answer shown as `signature`: the first problem found, else the last (outermost) signature. */
  signature: SignatureReport;
  signatures: SignatureReport[];
}

export const NOT_SIGNED: SignatureReport = { present: false, valid: false, trusted: false };

/** A file whose verification could not be completed: reported as signed but neither valid nor trusted. */
export function unverified(problem: string): VerificationResult {
  const signature: SignatureReport = { present: true, valid: false, trusted: false, problem };
  return { signature, signatures: [signature] };
}
