import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, type Principal } from '@lienthong/common';
import {
  CreateDocumentDto,
  ListDocumentsQuery,
  RecallDto,
  RecipientsQuery,
  StatusChangeDto,
  UpdateDocumentDto,
} from './documents.dto';
import { DocumentsService } from './documents.service';

@ApiTags('documents')
@ApiBearerAuth()
@Controller('api/v1/documents')
export class DocumentsController {
  constructor(private readonly documents: DocumentsService) {}

  @Post()
  @Roles('clerk')
  create(@CurrentPrincipal() p: Principal, @Body() dto: CreateDocumentDto) {
    return this.documents.create(p, dto);
  }

  @Get()
  list(@CurrentPrincipal() p: Principal, @Query() q: ListDocumentsQuery) {
    return this.documents.list(p, q);
  }

  @Get(':id')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.documents.read(p, id);
  }

  @Get(':id/recipients')
  recipients(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Query() q: RecipientsQuery) {
    return this.documents.recipientsPage(p, id, q);
  }

  @Post(':id/send')
  @HttpCode(202)
  @Roles('clerk')
  send(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.documents.send(p, id);
  }

  @Post(':id/status')
  @HttpCode(200)
  @Roles('clerk', 'leader', 'specialist')
  status(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: StatusChangeDto) {
    return this.documents.changeStatus(p, id, dto);
  }

  @Post(':id/recall')
  @HttpCode(202)
  @Roles('clerk', 'leader')
  recall(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: RecallDto) {
    return this.documents.recall(p, id, dto);
  }

  /** Business type 2: the sender corrects metadata of a sent document; recipients' copies follow. */
  @Post(':id/update')
  @HttpCode(202)
  @Roles('clerk')
  update(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() dto: UpdateDocumentDto) {
    return this.documents.update(p, id, dto);
  }
}
