import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '@lienthong/common';
import { ReportQuery } from '../documents/documents.dto';
import { ReportsService } from './reports.service';

@ApiTags('reports')
@ApiBearerAuth()
@Controller('api/v1/reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Get('exchange')
  exchange(@CurrentPrincipal() p: Principal, @Query() q: ReportQuery) {
    return this.reports.exchange(p, q);
  }
}
