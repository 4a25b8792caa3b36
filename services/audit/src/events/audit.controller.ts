import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { badRequest, CurrentPrincipal, Principal, Roles } from '@lienthong/common';
import type { Response } from 'express';
import { CheckpointService } from '../checkpoint/checkpoint.service';
import { KeysService } from '../checkpoint/keys.service';
import { LogRepository } from '../log/log.repository';
import {
  ConsistencyQueryDto,
  EventsQueryDto,
  ExportQueryDto,
  InclusionQueryDto,
  PageQueryDto,
} from './events.dto';
import { EventFilter, EventsService } from './events.service';

const hex = (b: Buffer) => b.toString('hex');
const tooLarge = (field: string, size: number) =>
  badRequest('TREE_SIZE_TOO_LARGE', `The log holds ${size} entries`, [
    { field, errors: [`must be at most ${size}`] },
  ]);

/** The audit log API (API.md, Audit). Auditors see their organization subtree; system-admins everything. */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor', 'system-admin')
@Controller('api/v1/audit')
export class AuditController {
  constructor(
    private readonly events: EventsService,
    private readonly log: LogRepository,
    private readonly checkpoints: CheckpointService,
    private readonly keys: KeysService,
  ) {}

  @Get('events')
  async list(@Query() q: EventsQueryDto, @CurrentPrincipal() p: Principal) {
    const filter: EventFilter = {
      action: q.action,
      actor: q.actor,
      organizationCode: q.organizationCode,
      resourceId: q.resourceId,
      from: q.from,
      to: q.to,
      scope: await this.events.scopeOf(p),
    };
    return this.events.query(filter, q.cursor, q.limit ?? 50);
  }

  @Get('checkpoint')
  async checkpoint() {
    return (await this.checkpoints.latest()) ?? this.checkpoints.sign();
  }

  @Get('checkpoints')
  async allCheckpoints(@Query() q: PageQueryDto) {
    return this.checkpoints.page(q.cursor === undefined ? 0 : Number(q.cursor), q.limit ?? 500);
  }

  @Get('keys')
  async listKeys() {
    return { keys: await this.keys.list() };
  }

  @Get('proofs/inclusion')
  async inclusion(@Query() q: InclusionQueryDto) {
    if (q.leafIndex >= q.treeSize) {
      throw badRequest('LEAF_NOT_IN_TREE', 'leafIndex must be below treeSize', [
        { field: 'leafIndex', errors: ['must be less than treeSize'] },
      ]);
    }
    const r = await this.log.inclusionProof(q.leafIndex, q.treeSize);
    if (r.logSize < q.treeSize) throw tooLarge('treeSize', r.logSize);
    return {
      leafIndex: q.leafIndex,
      treeSize: q.treeSize,
      leafHash: r.leaf ? hex(r.leaf) : null,
      auditPath: r.path.map(hex),
    };
  }

  @Get('proofs/consistency')
  async consistency(@Query() q: ConsistencyQueryDto) {
    if (q.first > q.second)
      throw badRequest('INVALID_RANGE', 'first must not exceed second', [
        { field: 'first', errors: ['must be at most second'] },
      ]);
    const r = await this.log.consistencyProof(q.first, q.second);
    if (r.logSize < q.second) throw tooLarge('second', r.logSize);
    return { first: q.first, second: q.second, proof: r.proof.map(hex) };
  }

  @Get('export')
  async export(
    @Query() q: ExportQueryDto,
    @CurrentPrincipal() p: Principal,
    @Res() res: Response,
  ): Promise<void> {
    const isIndex = (v?: string) => v !== undefined && /^\d+$/.test(v);
    const filter: EventFilter = {
      from: q.from !== undefined && !isIndex(q.from) ? q.from : undefined,
      to: q.to !== undefined && !isIndex(q.to) ? q.to : undefined,
      fromIndex: isIndex(q.from) ? Number(q.from) : undefined,
      toIndex: isIndex(q.to) ? Number(q.to) : undefined,
      scope: await this.events.scopeOf(p),
    };
    await this.events.recordExport(p, filter);
    res.status(200).setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    try {
      for await (const rows of this.events.exportBatches(filter)) {
        const chunk = rows
          .map((r) =>
            JSON.stringify({ leafIndex: Number(r.leaf_index), leafHash: hex(r.leaf_hash), event: r.event }),
          )
          .join('\n');
        // Respect back-pressure so a slow client does not pile the log up in memory.
        if (!res.write(chunk + '\n')) await new Promise<void>((r) => res.once('drain', () => r()));
        if (res.destroyed) return;
      }
    } finally {
      res.end();
    }
  }
}
