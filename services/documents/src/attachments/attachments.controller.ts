import { Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, type Principal } from '@lienthong/common';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { AttachmentsService } from './attachments.service';

@ApiTags('attachments')
@ApiBearerAuth()
@Controller('api/v1/documents/:id/attachments')
export class AttachmentsController {
  constructor(private readonly attachments: AttachmentsService) {}

  @Post()
  @Roles('clerk')
  @ApiConsumes('multipart/form-data')
  upload(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Req() req: Request) {
    return this.attachments.upload(p, id, req);
  }

  @Get(':attachmentId/content')
  async content(
    @CurrentPrincipal() p: Principal,
    @Param('id') id: string,
    @Param('attachmentId') attachmentId: string,
    @Res() res: Response,
  ): Promise<void> {
    const { row, stream } = await this.attachments.openContent(p, id, attachmentId);
    res.status(200);
    res.setHeader('Content-Type', row.content_type);
    res.setHeader('Content-Length', String(row.size));
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(row.name)}`);
    await pipeline(stream, res);
  }
}
