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
  /** @Public and @Roles of a handler (with its class's as fallback): decorator metadata, fixed after boot. */
  private readonly rules = new WeakMap<object, WeakMap<object, { isPublic: boolean; roles?: Role[] }>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: JwtVerifier,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const { isPublic, roles } = this.rulesOf(ctx.getHandler(), ctx.getClass());
    if (isPublic) return true;
    const req = ctx.switchToHttp().getRequest<{ headers: Record<string, unknown>; principal?: Principal }>();
    const token = bearerToken(req.headers.authorization);
    if (!token) throw new DomainError(401, 'UNAUTHORIZED', 'A bearer token is required');
    const principal = await this.verifier.verify(token);
    req.principal = principal;
    if (roles && roles.length > 0 && !roles.some((r) => principal.roles.includes(r))) {
      throw new DomainError(403, 'FORBIDDEN', 'Your roles do not allow this action');
    }
    return true;
  }

  private rulesOf(handler: object, cls: object): { isPublic: boolean; roles?: Role[] } {
    let byHandler = this.rules.get(cls);
    if (!byHandler) this.rules.set(cls, (byHandler = new WeakMap()));
    let r = byHandler.get(handler);
    if (!r) {
      const targets = [handler, cls] as [() => unknown, new () => unknown];
      r = {
        isPublic: Boolean(this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)),
        roles: this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets),
      };
      byHandler.set(handler, r);
    }
    return r;
  }
}
