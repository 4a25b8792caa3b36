import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { RpcSubjects } from '@lienthong/contracts';
import {
  OrganizationCodeRequest,
  ResolveOrganizationsRequest,
  UpsertStateOrganizationRequest,
} from './organizations.dto';
import { OrganizationsService } from './organizations.service';

/** Request/reply for other services (typed in libs/contracts RpcMap). */
@Controller()
export class OrganizationsHandler {
  constructor(private readonly orgs: OrganizationsService) {}

  @MessagePattern(RpcSubjects.organizationGet)
  get(@Payload() req: OrganizationCodeRequest) {
    return this.orgs.findView(req.code);
  }

  @MessagePattern(RpcSubjects.organizationResolve)
  resolve(@Payload() req: ResolveOrganizationsRequest) {
    return this.orgs.resolve(req.codes);
  }

  @MessagePattern(RpcSubjects.organizationSubtree)
  subtree(@Payload() req: OrganizationCodeRequest) {
    return this.orgs.subtree(req.code);
  }

  @MessagePattern(RpcSubjects.organizationExists)
  async exists(@Payload() req: OrganizationCodeRequest) {
    return { exists: (await this.orgs.findView(req.code)) !== null };
  }

  @MessagePattern(RpcSubjects.organizationUpsertState)
  upsertState(@Payload() req: UpsertStateOrganizationRequest) {
    return this.orgs.upsertState(req.code, req.name, req.parentCode);
  }
}
