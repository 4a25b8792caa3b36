import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { badRequest, CurrentPrincipal, notFound, type Principal } from '@lienthong/common';
import type { Response } from 'express';
import { RegisterQuery } from '../documents/documents.dto';
import { RegistersService } from './registers.service';

@ApiTags('registers')
@ApiBearerAuth()
@Controller('api/v1/registers')
export class RegistersController {
  constructor(private readonly registers: RegistersService) {}

  @Get(':direction')
  async register(
    @CurrentPrincipal() p: Principal,
    @Param('direction') direction: string,
    @Query() q: RegisterQuery,
    @Res() res: Response,
  ): Promise<void> {
    if (direction !== 'incoming' && direction !== 'outgoing')
      throw notFound('REGISTER_NOT_FOUND', 'No such register');
    // A page (JSON with `limit`) or, as always, the whole year; the CSV file is always the whole year.
    const paged = q.limit !== undefined && q.format !== 'csv';
    const after = paged && q.cursor ? decodeNumberCursor(q.cursor) : 0;
    const items = await this.registers.entries(
      p,
      direction,
      q.year,
      paged ? { limit: q.limit! + 1, after } : undefined,
    );
    if (paged) {
      const more = items.length > q.limit!;
      const page = more ? items.slice(0, q.limit) : items;
      const last = page[page.length - 1] as { arrivalNumber?: number; outgoingNumber?: number } | undefined;
      const nextCursor =
        more && last
          ? Buffer.from(String(last.arrivalNumber ?? last.outgoingNumber)).toString('base64url')
          : null;
      res
        .status(200)
        .json({ year: q.year, direction, organizationCode: p.organizationCode, items: page, nextCursor });
      return;
    }
    if (q.format === 'csv') {
      await this.registers.recordExport(p, direction, q.year, items.length);
      res.status(200);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="${direction}-register-${q.year}.csv"`);
      res.send(this.registers.toCsv(direction, items));
      return;
    }
    res.status(200).json({ year: q.year, direction, organizationCode: p.organizationCode, items });
  }
}

/** The register number a `nextCursor` of this endpoint carries. */
function decodeNumberCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const n = Number(text);
  if (!/^\d{1,9}$/.test(text) || !Number.isSafeInteger(n))
    throw badRequest('VALIDATION_FAILED', 'Invalid input: cursor', [
      { field: 'cursor', errors: ['cursor is not one this API issued'] },
    ]);
  return n;
}
