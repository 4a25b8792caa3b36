import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { badRequest, CurrentPrincipal, DomainError, Roles, type Principal } from '@lienthong/common';
import type { Request, Response } from 'express';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { EdxmlError, parseEdxml, readEdxml, requireReplacedDocument } from '../edxml';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { ExchangesService } from '../exchanges/exchanges.service';
import { derivedUuid } from '../exchanges/routed-document';
import { EdxmlMemoryBudget } from './edxml-memory-budget';
import { EdxmlSenderPolicy } from './edxml-sender.policy';

/** Inbound edXML (API.md, Integration bus) for provincial data centres and agency systems. */
@ApiTags('edxml')
@ApiBearerAuth()
@Controller('api/v1/edxml')
export class EdxmlController {
  constructor(
    private readonly exchanges: ExchangesService,
    private readonly node: EdxmlNodeService,
    private readonly config: IntegrationBusConfig,
    private readonly senders: EdxmlSenderPolicy,
    private readonly budget: EdxmlMemoryBudget,
  ) {}

  @Post()
  @Roles('exchange')
  @ApiConsumes('application/xml')
  async receive(@Req() req: Request, @Res() res: Response, @CurrentPrincipal() p: Principal): Promise<void> {
    const release = await this.reserve(req);
    try {
      await this.receivePackage(req, res, p);
    } finally {
      release();
    }
  }

  private async receivePackage(req: Request, res: Response, p: Principal): Promise<void> {
    const actor = { sub: p.sub, organizationCode: p.organizationCode, type: p.type };
    this.checkContentType(req);
    // The body is read once, as it arrives: the exclusive-c14n digest is computed and the attachments are
    // decoded (to EDXML_TEMP_DIR above EDXML_IN_MEMORY_BYTES) while reading; only the metadata is held.
    let read;
    try {
      read = await readEdxml(
        this.bounded(req, this.bodyLimit(req)),
        this.node.readerOptions({ maxMetadataBytes: this.metadataMax }),
      );
    } catch (e) {
      req.resume();
      throw await this.refuse(e, actor);
    }
    let received: Awaited<ReturnType<ExchangesService['receivePackage']>>;
    try {
      const msg = read.message;
      if (msg.kind !== 'package')
        throw await this.refuse(
          new EdxmlError(
            'EDXML_INVALID',
            'edXML/edXMLEnvelope is missing (a status message was sent; use /edxml/status)',
            'edXML',
          ),
          actor,
        );
      try {
        requireReplacedDocument(msg.package);
      } catch (e) {
        throw await this.refuse(e, actor);
      }
      await this.senders.checkPackage(p, msg.package);
      const signature = read.signature;
      if (signature.present && !signature.valid) {
        throw await this.refuse(
          new EdxmlError(
            'EDXML_INVALID',
            `Signature does not verify: ${signature.problem ?? ''}`.trim(),
            'Signature',
          ),
          actor,
        );
      }
      const { fingerprint: _f, ...sig } = signature;
      received = await this.exchanges.receivePackage(msg.package, 'api', {
        actor,
        signature: sig,
      });
    } finally {
      // Before answering: once the client has its answer, no file of its package is left.
      await read.cleanup();
    }
    res.status(received.duplicate ? 200 : 202).json(received.answer);
  }

  @Post('status')
  @Roles('exchange')
  @HttpCode(202)
  @ApiConsumes('application/xml')
  async status(
    @Req() req: Request,
    @CurrentPrincipal() p: Principal,
  ): Promise<{ accepted: true; statusId: string }> {
    const release = await this.reserve(req, true);
    try {
      return await this.receiveStatus(req, p);
    } finally {
      release();
    }
  }

  private async receiveStatus(req: Request, p: Principal): Promise<{ accepted: true; statusId: string }> {
    const actor = { sub: p.sub, organizationCode: p.organizationCode, type: p.type };
    const body = await this.readBody(req);
    let msg;
    try {
      msg = parseEdxml(body, this.node.limits);
    } catch (e) {
      throw await this.refuse(e, actor);
    }
    if (msg.kind !== 'status')
      throw await this.refuse(
        new EdxmlError('EDXML_INVALID', 'Envelope/Header/Status is missing', 'Envelope/Header/Status'),
        actor,
      );
    const s = msg.status;
    await this.senders.checkStatus(p, s);
    const statusId = derivedUuid(
      `api-status|${s.from.organId}|${s.responseFor.documentId}|${s.statusCode}|${s.timestamp}`,
    );
    await this.exchanges.applyRemoteStatus(this.exchanges.statusEvent(s, statusId), 'api-status', statusId);
    return { accepted: true, statusId };
  }

  private async refuse(
    e: unknown,
    actor: { sub: string; organizationCode: string; type: 'user' | 'client' },
  ): Promise<DomainError> {
    if (!(e instanceof EdxmlError)) return e as DomainError;
    await this.exchanges.auditRejected(
      e.code,
      { origin: 'api', element: e.element, message: e.message },
      actor,
    );
    if (e.code === 'EDXML_TOO_LARGE') return new DomainError(413, e.code, e.message);
    return badRequest(e.code, e.message, e.element ? [{ field: e.element, errors: [e.message] }] : undefined);
  }

  /** What one package may hold in memory besides its attachments: the metadata limit, or the budget when smaller. */
  private get metadataMax(): number {
    return Math.min(this.config.EDXML_METADATA_MAX_BYTES, this.budget.total);
  }

  /** A status message is read whole (small): the smaller of EDXML_MAX_BYTES and the in-flight budget. */
  private get statusMax(): number {
    return Math.min(this.config.EDXML_MAX_BYTES, this.budget.total);
  }

  /**
   * Reserves memory for this request before reading its body — what it may hold: its declared length, at most
   * the metadata limit plus the attachment bytes kept in memory (a package is streamed; its attachments beyond
   * that go to disk) — so parallel requests never hold more than EDXML_INFLIGHT_BYTES. A body declared larger
   * than EDXML_MAX_BYTES is refused first.
   */
  private async reserve(req: Request, holdsWhole = false): Promise<() => void> {
    const declared = Number(req.headers['content-length'] ?? NaN);
    const max = holdsWhole ? this.statusMax : this.config.EDXML_MAX_BYTES;
    if (Number.isFinite(declared) && declared > max) {
      req.resume();
      throw new DomainError(413, 'EDXML_TOO_LARGE', `edXML is larger than ${max} bytes`);
    }
    const holds = holdsWhole ? max : this.config.EDXML_METADATA_MAX_BYTES + this.config.EDXML_IN_MEMORY_BYTES;
    return this.budget.reserve(Number.isFinite(declared) && declared > 0 ? Math.min(declared, holds) : holds);
  }

  /** The body may not be longer than it declared (nor than EDXML_MAX_BYTES). */
  private bodyLimit(req: Request): number {
    const declared = Number(req.headers['content-length'] ?? NaN);
    return Number.isFinite(declared) && declared > 0
      ? Math.min(declared, this.config.EDXML_MAX_BYTES)
      : this.config.EDXML_MAX_BYTES;
  }

  private checkContentType(req: Request): void {
    const type = String(req.headers['content-type'] ?? '');
    if (!/xml|octet-stream/i.test(type)) {
      req.resume();
      throw badRequest('EDXML_INVALID', 'Content-Type must be application/xml', [
        { field: 'content-type', errors: ['must be application/xml'] },
      ]);
    }
  }

  /** The request body in chunks, refused (413) past `max` bytes, 400 when empty. */
  private async *bounded(req: Request, max: number): AsyncGenerator<Buffer> {
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > max) throw new EdxmlError('EDXML_TOO_LARGE', `edXML is larger than ${max} bytes`);
      yield c as Buffer;
    }
    if (size === 0)
      throw badRequest('EDXML_INVALID', 'The body is empty', [{ field: 'document', errors: ['is empty'] }]);
  }

  /** The raw body of a status message, bounded: over the limit → 413 without reading the rest into memory. */
  private async readBody(req: Request): Promise<Buffer> {
    this.checkContentType(req);
    const declared = Number(req.headers['content-length'] ?? NaN);
    // Never more than was reserved for it (a client may declare less than it sends).
    const max = Number.isFinite(declared) && declared > 0 ? declared : this.statusMax;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > max) {
        req.resume();
        throw new DomainError(413, 'EDXML_TOO_LARGE', `edXML is larger than ${max} bytes`);
      }
      chunks.push(c as Buffer);
    }
    if (size === 0)
      throw badRequest('EDXML_INVALID', 'The body is empty', [{ field: 'document', errors: ['is empty'] }]);
    return Buffer.concat(chunks);
  }
}
