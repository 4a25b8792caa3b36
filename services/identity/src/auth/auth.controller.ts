import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Public, type Principal } from '@lienthong/common';
import type { Request, Response } from 'express';
import { UsersService } from '../users/users.service';
import { AuthService } from './auth.service';
import { RevokeDto } from './auth.dto';
import { invalidRequest, OAuthError } from './oauth-error';
import { TokenThrottle } from './token-throttle';

function field(body: Record<string, unknown>, name: string, required = true): string | undefined {
  const v = body[name];
  if (v === undefined || v === null || v === '') {
    if (required) throw invalidRequest(`${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v.length > 4096) throw invalidRequest(`${name} must be a string`);
  return v;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded inside Basic; a bad escape is the caller's error. */
function formDecode(text: string, name: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw invalidRequest(`The ${name} in the Basic credentials is not validly URL-encoded`);
  }
}

/** client_secret_basic: `Authorization: Basic base64(id:secret)`. */
export function basicCredentials(header: unknown): { id: string; secret: string } | null {
  if (typeof header !== 'string' || !header.startsWith('Basic ')) return null;
  const text = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 1) return null;
  return {
    id: formDecode(text.slice(0, i), 'client id'),
    secret: formDecode(text.slice(i + 1), 'client secret'),
  };
}

@ApiTags('auth')
@Controller('api/v1/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly users: UsersService,
    private readonly throttle: TokenThrottle,
  ) {}

  /** OAuth 2.0 token endpoint (JSON or form-encoded); errors use OAuth shapes, not the platform's. */
  @Public()
  @Post('token')
  async token(@Req() req: Request, @Res() res: Response): Promise<void> {
    this.throttle.hit('ip', req.ip ?? 'unknown');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    try {
      const body = (
        req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? req.body : {}
      ) as Record<string, unknown>;
      const grant = field(body, 'grant_type');
      let result;
      if (grant === 'password') {
        const username = field(body, 'username')!;
        const password = field(body, 'password')!;
        this.throttle.hit('username', username.toLowerCase());
        result = await this.auth.passwordGrant(username, password, field(body, 'otp', false));
      } else if (grant === 'client_credentials') {
        const basic = basicCredentials(req.headers.authorization);
        const id = basic?.id ?? field(body, 'client_id')!;
        const secret = basic?.secret ?? field(body, 'client_secret')!;
        this.throttle.hit('username', `client:${id}`);
        result = await this.auth.clientCredentialsGrant(id, secret);
      } else if (grant === 'refresh_token') {
        result = await this.auth.refreshGrant(field(body, 'refresh_token')!);
      } else {
        throw new OAuthError(
          400,
          'unsupported_grant_type',
          'grant_type must be password, client_credentials or refresh_token',
        );
      }
      res.status(200).json(result);
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      if (e.error === 'invalid_client') res.setHeader('WWW-Authenticate', 'Basic realm="lienthong"');
      res.status(e.status).json({ error: e.error, error_description: e.description });
    }
  }

  @ApiBearerAuth()
  @Post('revoke')
  @HttpCode(200)
  async revoke(@CurrentPrincipal() p: Principal, @Body() dto: RevokeDto) {
    await this.auth.revoke(p, dto.token);
    return {};
  }

  @ApiBearerAuth()
  @Get('me')
  async me(@CurrentPrincipal() p: Principal) {
    const user = p.type === 'user' ? await this.users.me(p) : null;
    return {
      sub: p.sub,
      ...(user ? { username: user.username } : {}),
      organizationCode: p.organizationCode,
      roles: p.roles,
      type: p.type,
    };
  }
}
