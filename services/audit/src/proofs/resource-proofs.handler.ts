import { RpcController } from '@lienthong/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { RpcSubjects, type ResourceProofsResponse } from '@lienthong/contracts';
import { ResourceProofsRequestDto } from './resource-proofs.dto';
import { ResourceProofsService } from './resource-proofs.service';

/** Request/reply for documents' archive packages (RpcMap `audit.resource-proofs`). */
@RpcController()
export class ResourceProofsHandler {
  constructor(private readonly proofs: ResourceProofsService) {}

  @MessagePattern(RpcSubjects.auditResourceProofs)
  prove(@Payload() req: ResourceProofsRequestDto): Promise<ResourceProofsResponse> {
    return this.proofs.prove(req);
  }
}
