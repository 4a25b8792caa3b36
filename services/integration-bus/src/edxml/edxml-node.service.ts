import { Injectable, Logger } from '@nestjs/common';
import { readFileSync, existsSync } from 'node:fs';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import type { EdxmlReaderOptions } from './edxml.reader';
import type { NodeCredentials } from './edxml.signature';
import { loadNodeCredentials } from './node-certificate';

/** This node's signing credentials and the node certificates it trusts (own certificate included). */
@Injectable()
export class EdxmlNodeService {
  private readonly logger = new Logger(EdxmlNodeService.name);
  readonly credentials: NodeCredentials;
  readonly trusted: string[];

  constructor(readonly config: IntegrationBusConfig) {
    const cred = loadNodeCredentials(config, (m) => this.logger.warn(m));
    this.credentials = cred;
    this.trusted = [cred.certPem, ...splitPems(readTrusted(config.TRUSTED_NODE_CERTS))];
  }

  get limits() {
    return { maxBytes: this.config.EDXML_MAX_BYTES, maxRecipients: this.config.EDXML_MAX_RECIPIENTS };
  }

  /** Options of the streamed reader (every received package goes through it). */
  readerOptions(over: Partial<EdxmlReaderOptions> = {}): EdxmlReaderOptions {
    return {
      ...this.limits,
      maxMetadataBytes: this.config.EDXML_METADATA_MAX_BYTES,
      memoryBytes: this.config.EDXML_IN_MEMORY_BYTES,
      tempDir: this.config.EDXML_TEMP_DIR,
      trusted: this.trusted,
      ...over,
    };
  }
}

function readTrusted(v?: string): string {
  if (!v) return '';
  if (v.includes('-----BEGIN')) return v.replace(/\\n/g, '\n');
  if (existsSync(v)) return readFileSync(v, 'utf8');
  throw new Error('TRUSTED_NODE_CERTS is neither PEM text nor a readable file');
}

export function splitPems(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
