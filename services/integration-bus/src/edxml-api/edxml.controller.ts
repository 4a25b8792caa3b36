import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { badRequest, CurrentPrincipal, DomainError, Roles, type Principal } from '@lienthong/common';
import type { Request, Response } from 'express';
import { IntegrationBusConfig } from '../config/integration-bus.config';
import { EdxmlError, parseEdxml, verifyPackage } from '../edxml';
import { EdxmlNodeService } from '../edxml/edxml-node.service';
import { ExchangesService } from '../exchanges/exchanges.service';
import { derivedUuid } from '../exchanges/routed-document';

/** Inbound edXML (API.md, Integration bus) for provincial data centres and agency systems. */
@ApiTags('edxml')
@ApiBearerAuth()
@Controller('api/v1/edxml')
export class EdxmlController {
  constructor(
    private readonly exchanges: ExchangesService,
    private readonly node: EdxmlNodeService,
    private readonly config: IntegrationBusConfig,
  ) {}

  @Post()
  @Roles('exchange')
  @ApiConsumes('application/xml')
  async receive(@Req() req: Request, @Res() res: Response, @CurrentPrincipal() p: Principal): Promise<void> {
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

  /** The raw body, bounded: over EDXML_MAX_BYTES → 413 without reading the rest into memory. */
  private async readBody(req: Request): Promise<Buffer> {
    const type = String(req.headers['content-type'] ?? '');
    if (!/xml|octet-stream/i.test(type))
      throw badRequest('EDXML_INVALID', 'Content-Type must be application/xml', [
        { field: 'content-type', errors: ['must be application/xml'] },
      ]);
    const max = this.config.EDXML_MAX_BYTES;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      req.resume();
      throw new DomainError(413, 'EDXML_TOO_LARGE', `edXML is larger than ${max} bytes`);
    }
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
