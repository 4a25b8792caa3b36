import { Module } from '@nestjs/common';
import { CheckpointService } from '../checkpoint/checkpoint.service';
import { KeysService } from '../checkpoint/keys.service';
import { AuditController } from '../events/audit.controller';
import { EventsService } from '../events/events.service';
import { IntakeHandler } from './intake.handler';
import { LogRepository } from './log.repository';

@Module({
  controllers: [AuditController],
  providers: [LogRepository, KeysService, CheckpointService, IntakeHandler, EventsService],
  exports: [LogRepository],
})
export class AuditLogModule {}
