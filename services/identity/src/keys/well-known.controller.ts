import { Controller, Get, Header } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '@lienthong/common';
import { IdentityConfig } from '../config/identity.config';
import { KeyRing } from './key-ring';

@ApiTags('well-known')
@Controller('.well-known')
export class WellKnownController {
  constructor(
    private readonly ring: KeyRing,
    private readonly config: IdentityConfig,
  ) {}

  @Public()
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  jwks() {
    return this.ring.jwks();
  }

  @Public()
  @Get('openid-configuration')
  openid() {
    const base = new URL(this.config.JWKS_URL).origin;
    return {
      issuer: this.config.jwtIssuer,
      jwks_uri: `${base}/.well-known/jwks.json`,
      token_endpoint: `${base}/api/v1/auth/token`,
      revocation_endpoint: `${base}/api/v1/auth/revoke`,
      userinfo_endpoint: `${base}/api/v1/auth/me`,
      grant_types_supported: ['password', 'client_credentials', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      id_token_signing_alg_values_supported: [this.config.SIGNING_ALG],
      response_types_supported: ['token'],
      subject_types_supported: ['public'],
      claims_supported: ['iss', 'aud', 'sub', 'org', 'roles', 'typ', 'jti', 'iat', 'exp'],
    };
  }
}
