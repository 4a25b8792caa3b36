import { RpcController } from '@lienthong/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { RpcSubjects, type OrganizationView } from '@lienthong/contracts';
import {
  OrganizationCodeRequest,
  OrganizationResolveRequest,
  OrganizationUpsertStateRequest,
} from './organizations.dto';
import { OrganizationsService } from './organizations.service';

/** Request/reply for other services (RpcMap in libs/contracts). */
@RpcController()
export class OrganizationsHandler {
  constructor(private readonly orgs: OrganizationsService) {}

  @MessagePattern(RpcSubjects.organizationGet)
  get(@Payload() req: OrganizationCodeRequest): Promise<OrganizationView | null> {
    return this.orgs.get(req.code);
  }

  @MessagePattern(RpcSubjects.organizationResolve)
  resolve(@Payload() req: OrganizationResolveRequest) {
    return this.orgs.resolve(req.codes);
  }

  @MessagePattern(RpcSubjects.organizationSubtree)
  async subtree(@Payload() req: OrganizationCodeRequest) {
    return { codes: await this.orgs.subtree(req.code) };
  }

  @MessagePattern(RpcSubjects.organizationExists)
  async exists(@Payload() req: OrganizationCodeRequest) {
    return { exists: (await this.orgs.get(req.code)) !== null };
  }

  @MessagePattern(RpcSubjects.organizationUpsertState)
  upsertState(@Payload() req: OrganizationUpsertStateRequest) {
    return this.orgs.upsertState(req);
  }
}
