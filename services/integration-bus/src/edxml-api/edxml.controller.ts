import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { badRequest, CurrentPrincipal, DomainError, Roles, type Principal } from '@lienthong/common';
import type { Request, Response } from 'express';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { EdxmlError, parseEdxml, requireReplacedDocument, verifyPackage } from '../edxml';
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
    const body = await this.readBody(req);
    let msg;
    try {
      msg = parseEdxml(body, this.node.limits);
    } catch (e) {
      throw await this.refuse(e, actor);
    }
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
    const signature = verifyPackage(body.toString('utf8'), this.node.trusted, this.node.limits.maxBytes);
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
    const { duplicate, answer } = await this.exchanges.receivePackage(msg.package, 'api', {
      actor,
      signature: sig,
    });
    res.status(duplicate ? 200 : 202).json(answer);
  }

  @Post('status')
  @Roles('exchange')
  @HttpCode(202)
  @ApiConsumes('application/xml')
  async status(
    @Req() req: Request,
    @CurrentPrincipal() p: Principal,
  ): Promise<{ accepted: true; statusId: string }> {
    const release = await this.reserve(req);
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

  /** The largest body accepted: EDXML_MAX_BYTES, or less when the in-flight budget is smaller. */
  private get maxBytes(): number {
    return Math.min(this.config.EDXML_MAX_BYTES, this.budget.total);
  }

  /**
   * Reserves memory for this request's body before reading it (its declared length, else the maximum), so
   * parallel uploads never hold more than EDXML_INFLIGHT_BYTES; a body declared too large is refused first.
   */
  private async reserve(req: Request): Promise<() => void> {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > this.maxBytes) {
      req.resume();
      throw new DomainError(413, 'EDXML_TOO_LARGE', `edXML is larger than ${this.maxBytes} bytes`);
    }
    return this.budget.reserve(Number.isFinite(declared) && declared > 0 ? declared : this.maxBytes);
  }

  /** The raw body, bounded: over EDXML_MAX_BYTES → 413 without reading the rest into memory. */
  private async readBody(req: Request): Promise<Buffer> {
    const type = String(req.headers['content-type'] ?? '');
    if (!/xml|octet-stream/i.test(type))
      throw badRequest('EDXML_INVALID', 'Content-Type must be application/xml', [
        { field: 'content-type', errors: ['must be application/xml'] },
      ]);
    const declared = Number(req.headers['content-length'] ?? NaN);
    // Never more than was reserved for it (a client may declare less than it sends).
    const max = Number.isFinite(declared) && declared > 0 ? declared : this.maxBytes;
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
