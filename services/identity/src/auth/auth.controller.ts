import { Body, Controller, Get, HttpCode, Post, Req, UseFilters } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, DomainError, Public, type Principal } from '@lienthong/common';
import type { Request } from 'express';
import { AuthService } from './auth.service';
import { OAuthErrorFilter } from './oauth-error.filter';

function basicCredentials(header: unknown): { id: string; secret: string } | undefined {
  if (typeof header !== 'string' || !header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { id: decodeURIComponent(decoded.slice(0, i)), secret: decodeURIComponent(decoded.slice(i + 1)) };
}

@ApiTags('auth')
@Controller('api/v1/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** OAuth 2.0 token endpoint: JSON or form-encoded. */
  @Post('token')
  @Public()
  @HttpCode(200)
  @UseFilters(OAuthErrorFilter)
  async token(@Body() body: Record<string, unknown>, @Req() req: Request) {
    const res = await this.auth.token(body, req.ip ?? 'unknown', basicCredentials(req.headers.authorization));
    req.res?.setHeader('Cache-Control', 'no-store');
    return res;
  }

  @Post('revoke')
  @ApiBearerAuth()
  @HttpCode(200)
  async revoke(@CurrentPrincipal() p: Principal, @Body() body: Record<string, unknown>) {
    await this.auth.revoke(p, body?.token as string);
    return {};
  }

  @Get('me')
  @ApiBearerAuth()
  async me(@CurrentPrincipal() p: Principal) {
    if (await this.auth.isRevoked(p.jti)) throw new DomainError(401, 'TOKEN_REVOKED', 'Token revoked');
    return { sub: p.sub, ...(p.username ? { username: p.username } : {}), organizationCode: p.organizationCode, roles: p.roles, type: p.type };
  }
}
