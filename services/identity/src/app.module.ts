import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule } from '@lienthong/common';
import { Streams } from '@lienthong/contracts';
import { AuthController } from './auth/auth.controller';
import { AuthService } from './auth/auth.service';
import { RefreshTokensRepository } from './auth/refresh-tokens.repository';
import { TokenThrottle } from './auth/token-throttle';
import { TokenRevocations } from './auth/token-revocations';
import { BootstrapService } from './bootstrap/bootstrap.service';
import { ClientsController } from './clients/clients.controller';
import { ClientsRepository } from './clients/clients.repository';
import { ClientsService } from './clients/clients.service';
import { IdentityConfig } from './config/identity.config';
import { DirectoryPublisher } from './directory/directory.publisher';
import { DirectoryReplica } from './directory/directory.replica';
import { SecretBox } from './crypto/secret-box';
import { KeyRing } from './keys/key-ring';
import { SigningKeysService } from './keys/signing-keys.service';
import { WellKnownController } from './keys/well-known.controller';
import { migrations } from './migrations';
import { OrganizationsController } from './organizations/organizations.controller';
import { OrganizationsHandler } from './organizations/organizations.handler';
import { OrganizationsRepository } from './organizations/organizations.repository';
import { OrganizationsService } from './organizations/organizations.service';
import { PasswordHasher } from './users/password-hasher';
import { TotpCodes } from './users/totp-codes';
import { UsersController } from './users/users.controller';
import { UsersRepository } from './users/users.repository';
import { UsersService } from './users/users.service';

@Module({})
export class AppModule {
  static register(config: IdentityConfig): DynamicModule {
    // Made before the container so the platform's JWT guard verifies identity's tokens with the local keys.
    const ring = new KeyRing();
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({
          service: 'identity',
          config,
          configClass: IdentityConfig,
          entities: [],
          migrations,
          // The authoritative node writes the directory stream; a replica sources it (DirectoryReplica).
          streams: [
            Streams.identity(),
            Streams.audit(),
            Streams.revocations(),
            ...(config.directoryReplica ? [] : [Streams.directory()]),
          ],
          keyResolver: { useFactory: () => ring.resolver },
        }),
      ],
      controllers: [
        WellKnownController,
        AuthController,
        OrganizationsController,
        OrganizationsHandler,
        UsersController,
        ClientsController,
      ],
      providers: [
        { provide: KeyRing, useValue: ring },
        SecretBox,
        SigningKeysService,
        OrganizationsRepository,
        DirectoryPublisher,
        DirectoryReplica,
        OrganizationsService,
        PasswordHasher,
        UsersRepository,
        TotpCodes,
        UsersService,
        RefreshTokensRepository,
        ClientsRepository,
        ClientsService,
        TokenThrottle,
        TokenRevocations,
        AuthService,
        BootstrapService,
      ],
    };
  }
}
