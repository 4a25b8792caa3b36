import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@lienthong/contracts';
import { DomainError } from '../errors/domain-error';
import { IS_PUBLIC, REQUIRED_ROLES } from './auth.decorators';
import { JwtVerifier } from './jwt-verifier';
import type { Principal } from './principal';

export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header.trim());
  return m?.[1];
}

/** Global HTTP guard: every route needs a valid token unless marked @Public; @Roles narrows further. */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: JwtVerifier,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<{ headers: Record<string, unknown>; principal?: Principal }>();
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new DomainError(401, 'UNAUTHORIZED', 'A bearer token is required');
    const principal = await this.verifier.verify(token);
    req.principal = principal;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets);
    if (roles && roles.length > 0 && !roles.some((r) => principal.roles.includes(r))) {
      throw new DomainError(403, 'FORBIDDEN', 'Your roles do not allow this action');
    }
    return true;
  }
}
