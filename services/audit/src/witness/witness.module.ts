import { Module } from '@nestjs/common';
import { AuditLogModule } from '../log/log.module';
import { CosignatureService } from './cosignature.service';
import { WitnessController } from './witness.controller';
import { WitnessHandler } from './witness.handler';
import { WitnessRepository } from './witness.repository';
import { WitnessMetrics } from './witness.metrics';
import { WitnessService } from './witness.service';

/** Checkpoint witnessing for federation (README, Witness). */
@Module({
  imports: [AuditLogModule],
  controllers: [WitnessController],
  providers: [WitnessRepository, WitnessService, CosignatureService, WitnessHandler, WitnessMetrics],
})
export class WitnessModule {}
