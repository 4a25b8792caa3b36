import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { IdentityConfig } from '../config/identity.config';
import { DirectoryReplica } from '../directory/directory.replica';
import { OrganizationsService } from '../organizations/organizations.service';
import { UsersService } from '../users/users.service';

const BOOTSTRAP_LOCK = 0x1d3172;

/**
 * First start: root organization and the `admin` system-admin, when no user exists yet (API.md). On a replica
 * node (DIRECTORY_UPSTREAM_DOMAIN) the root organization is a placeholder until the centre's state arrives.
 */
@Injectable()
export class BootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(BootstrapService.name);

  constructor(
    private readonly ds: DataSource,
    private readonly orgs: OrganizationsService,
    private readonly users: UsersService,
    private readonly config: IdentityConfig,
    private readonly replica: DirectoryReplica,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // A session-level advisory lock keeps two replicas starting together from both bootstrapping.
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      await runner.query(`SELECT pg_advisory_lock($1)`, [BOOTSTRAP_LOCK]);
      const [{ n }] = await runner.query(`SELECT count(*)::int AS n FROM users`);
      if (n > 0) return;
      const code = this.config.ROOT_ORG_CODE;
      if (!(await this.orgs.get(code))) {
        const root = {
          code,
          name: this.config.ROOT_ORG_NAME,
          level: 'central' as const,
          sector: 'party' as const,
          zone: 'party-wan' as const,
          nodeId: this.config.NODE_ID,
        };
        // On a replica the directory is the centre's: the root is a local placeholder that the centre's state
        // of the same code replaces when it arrives (the admin can sign in before the hub is reachable).
        if (this.config.directoryReplica) await this.replica.ensurePlaceholder(root);
        else await this.orgs.create(null, root);
      }
      const generated = !this.config.ADMIN_PASSWORD;
      if (generated && this.config.NODE_ENV === 'production') {
        // A production node prints no password: the operator gives the first one.
        throw new Error('ADMIN_PASSWORD is required to create the bootstrap admin when NODE_ENV=production');
      }
      const password = this.config.ADMIN_PASSWORD ?? randomBytes(18).toString('base64url');
      await this.users.create(null, {
        username: 'admin',
        fullName: 'Administrator',
        password,
        organizationCode: code,
        roles: ['system-admin'],
      });
      if (generated) {
        // Printed once, to stdout only (never to the structured log), so the operator can sign in.
        process.stdout.write(
          `\n==== Liên thông bootstrap: user admin created, admin password: ${password} ====\n\n`,
        );
      }
      this.logger.log(`bootstrap: root organization ${code} and user admin created`);
    } finally {
      await runner.query(`SELECT pg_advisory_unlock($1)`, [BOOTSTRAP_LOCK]).catch(() => undefined);
      await runner.release();
    }
  }
}
