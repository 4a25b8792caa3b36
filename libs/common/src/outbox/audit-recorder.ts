import { Inject, Injectable } from '@nestjs/common';
import { AuditEventPayload, AuditOutcome, Subjects } from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import { currentCorrelationId } from '../logging/correlation';
import { SERVICE_IDENTITY, ServiceIdentity } from '../nats/nats.tokens';
import { OutboxService } from './outbox.service';

export interface AuditInput {
  action: string;
  actor?:
    | Principal
    | { sub: string; organizationCode?: string | null; type: 'user' | 'client' | 'system' | 'anonymous' };
  resource: { type: string; id: string };
  outcome?: AuditOutcome;
  details?: Record<string, unknown>;
}

/** Audit events go through the outbox, in the same transaction as the change they describe. */
@Injectable()
export class AuditRecorder {
  constructor(
    private readonly outbox: OutboxService,
    @Inject(SERVICE_IDENTITY) private readonly id: ServiceIdentity,
  ) {}

  build(input: AuditInput): AuditEventPayload {
    const actor = input.actor ?? { sub: this.id.service, organizationCode: null, type: 'system' as const };
    return {
      id: randomUUID(),
      time: new Date().toISOString(),
      service: this.id.service,
      action: input.action,
      actor: { sub: actor.sub, organizationCode: actor.organizationCode ?? null, type: actor.type },
      resource: input.resource,
      outcome: input.outcome ?? 'success',
      correlationId: currentCorrelationId(),
      ...(input.details ? { details: input.details } : {}),
    };
  }

  async record(manager: EntityManager, ...inputs: AuditInput[]): Promise<void> {
    await this.outbox.add(
      manager,
      ...inputs.map((i) => {
        const data = this.build(i);
        return {
          subject: Subjects.auditEvent(this.id.service),
          type: 'audit.recorded' as const,
          data,
          id: data.id,
        };
      }),
    );
  }
}
