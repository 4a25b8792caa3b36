import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule } from '@lienthong/common';
import { Streams } from '@lienthong/contracts';
import { AuthController } from './auth/auth.controller';
import { AuthService } from './auth/auth.service';
import { RateLimiter } from './auth/rate-limiter';
import { RefreshTokensRepository } from './auth/refresh-tokens.repository';
import { TokenIssuer } from './auth/token-issuer';
import { BootstrapService } from './bootstrap/bootstrap.service';
import { ClientsController } from './clients/clients.controller';
import { ClientsService } from './clients/clients.service';
import { IdentityConfig } from './config/identity.config';
import { SigningKeysService } from './keys/signing-keys.service';
import { WellKnownController } from './keys/well-known.controller';
import { migrations } from './migrations';
import { OrganizationScope } from './organizations/organization-scope.service';
import { OrganizationsController } from './organizations/organizations.controller';
import { OrganizationsHandler } from './organizations/organizations.handler';
import { OrganizationsRepository } from './organizations/organizations.repository';
import { OrganizationsService } from './organizations/organizations.service';
import { PasswordHasher } from './passwords/password-hasher';
import { UsersController } from './users/users.controller';
import { UsersRepository } from './users/users.repository';
import { UsersService } from './users/users.service';

@Module({})
export class AppModule {
  static register(config: IdentityConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({
          service: 'identity',
          config,
          configClass: IdentityConfig,
          entities: [],
          migrations,
          streams: [Streams.identity(), Streams.audit()],
          // Identity verifies its own tokens with its own keys, not over HTTP.
          keyResolver: { useFactory: (keys: SigningKeysService) => keys.resolver(), inject: [SigningKeysService] },
          extraProviders: [SigningKeysService],
        }),
      ],
      controllers: [WellKnownController, AuthController, OrganizationsController, OrganizationsHandler, UsersController, ClientsController],
      providers: [
        OrganizationsRepository,
        OrganizationScope,
        OrganizationsService,
        UsersRepository,
        UsersService,
        PasswordHasher,
        ClientsService,
        RefreshTokensRepository,
        TokenIssuer,
        RateLimiter,
        AuthService,
        BootstrapService,
      ],
    };
  }
}
