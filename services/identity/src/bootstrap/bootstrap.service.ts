import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { IdentityConfig } from '../config/identity.config';
import { OrganizationsRepository } from '../organizations/organizations.repository';
import { OrganizationsService } from '../organizations/organizations.service';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { passwordProblems } from '../passwords/password-policy';

/**
 * First start: when no user exists, create the root organization and the `admin` system-admin. The password
 * is ADMIN_PASSWORD, or generated and printed once (it is not stored anywhere but as an argon2id hash).
 */
@Injectable()
export class BootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Bootstrap');

  constructor(
    private readonly ds: DataSource,
    private readonly config: IdentityConfig,
    private readonly orgsRepo: OrganizationsRepository,
    private readonly orgs: OrganizationsService,
    private readonly usersRepo: UsersRepository,
    private readonly users: UsersService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      // One replica at a time decides.
      await runner.query(`SELECT pg_advisory_lock(hashtext('identity.bootstrap'))`);
      if (!(await this.orgsRepo.find(this.config.ROOT_ORG_CODE))) {
        await this.orgs.create(undefined, {
          code: this.config.ROOT_ORG_CODE,
          name: this.config.ROOT_ORG_NAME,
          level: 'central',
          sector: 'party',
          zone: 'party-wan',
          nodeId: this.config.NODE_ID,
        });
      }
      if ((await this.usersRepo.count()) > 0) return;
      const generated = !this.config.ADMIN_PASSWORD;
      const password = this.config.ADMIN_PASSWORD ?? `Lt-${randomBytes(15).toString('base64url')}`;
      const problems = passwordProblems(password, 'admin');
      if (problems.length) throw new Error(`ADMIN_PASSWORD does not meet the password policy: it ${problems.join(', ')}`);
      await this.users.create(undefined, {
        username: 'admin',
        fullName: 'System administrator',
        password,
        organizationCode: this.config.ROOT_ORG_CODE,
        roles: ['system-admin'],
      });
      if (generated) {
        // Printed once, on purpose, to the console of whoever started the platform; never logged as JSON.
        process.stdout.write(`\n  Bootstrap system administrator created — username: admin  admin password: ${password}\n  (shown only now; set ADMIN_PASSWORD to choose it)\n\n`);
      } else {
        this.logger.log('bootstrap system administrator "admin" created with ADMIN_PASSWORD');
      }
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(hashtext('identity.bootstrap'))`).catch(() => undefined);
      await runner.release();
    }
  }
}
