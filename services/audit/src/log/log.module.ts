import { Module } from '@nestjs/common';
import { CheckpointService } from '../checkpoint/checkpoint.service';
import { KeysService } from '../checkpoint/keys.service';
import { AuditController } from '../events/audit.controller';
import { EventsService } from '../events/events.service';
import { IntakeConsumer } from './intake.consumer';
import { LogRepository } from './log.repository';

@Module({
  controllers: [AuditController],
  providers: [LogRepository, KeysService, CheckpointService, IntakeConsumer, EventsService],
  exports: [LogRepository, KeysService, CheckpointService],
})
export class AuditLogModule {}
