import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, notFound, type Principal } from '@lienthong/common';
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
    const items = await this.registers.entries(p, direction, q.year);
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
