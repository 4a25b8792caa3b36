import { Module } from '@nestjs/common';
import { AuditLogModule } from '../log/log.module';
import { ResourceProofsHandler } from './resource-proofs.handler';
import { ResourceProofsService } from './resource-proofs.service';

@Module({
  imports: [AuditLogModule],
  controllers: [ResourceProofsHandler],
  providers: [ResourceProofsService],
})
export class ResourceProofsModule {}
