import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, notFound, Roles, type Principal } from '@lienthong/common';
import type { Response } from 'express';
import { ArchiveQuery } from './archive.dto';
import { ArchiveService } from './archive.service';

@ApiTags('registers')
@ApiBearerAuth()
@Controller('api/v1/registers')
export class ArchiveController {
  constructor(private readonly archive: ArchiveService) {}

  /** A register year as an archive package (BagIt ZIP), streamed. */
  @Get(':direction/archive')
  @Roles('clerk', 'org-admin', 'auditor')
  @ApiProduces('application/zip')
  async archivePackage(
    @CurrentPrincipal() p: Principal,
    @Param('direction') direction: string,
    @Query() q: ArchiveQuery,
    @Res() res: Response,
  ): Promise<void> {
    if (direction !== 'incoming' && direction !== 'outgoing')
      throw notFound('REGISTER_NOT_FOUND', 'No such register');
    const job = await this.archive.prepare(p, direction, q.year);
    res.status(200);
    res.setHeader('Content-Type', 'application/zip');
    res.setHeader('Content-Disposition', `attachment; filename="${job.fileName}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    try {
      await job.write(res);
    } catch {
      // Headers are gone: cutting the connection is the only way to say the package is incomplete.
      res.destroy();
    }
  }
}
