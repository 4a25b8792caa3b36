import 'reflect-metadata';
import { Reflector } from '@nestjs/core';
import type { ExecutionContext } from '@nestjs/common';
import { Public, Roles } from './auth.decorators';
import { JwtAuthGuard } from './jwt-auth.guard';
import type { JwtVerifier } from './jwt-verifier';

class Things {
  @Public() open() {}
  @Roles('clerk') clerksOnly() {}
  anyone() {}
}
@Public()
class OpenThings {
  all() {}
}

const ctx = (cls: object, handler: object, authorization?: string) =>
  ({
    getType: () => 'http',
    getHandler: () => handler,
    getClass: () => cls,
    switchToHttp: () => ({ getRequest: () => ({ headers: authorization ? { authorization } : {} }) }),
  }) as unknown as ExecutionContext;

describe('JwtAuthGuard', () => {
  const verifier = { verify: jest.fn(async () => ({ sub: 'u', roles: ['viewer'] })) };
  const guard = new JwtAuthGuard(new Reflector(), verifier as unknown as JwtVerifier);
  const p = Things.prototype;

  it('lets @Public handlers and classes through without a token, every time', async () => {
    for (let i = 0; i < 2; i++) {
      await expect(guard.canActivate(ctx(Things, p.open))).resolves.toBe(true);
      await expect(guard.canActivate(ctx(OpenThings, OpenThings.prototype.all))).resolves.toBe(true);
    }
    expect(verifier.verify).not.toHaveBeenCalled();
  });

  it('asks for a token elsewhere and applies @Roles per handler, on repeated calls too', async () => {
    for (let i = 0; i < 2; i++) {
      await expect(guard.canActivate(ctx(Things, p.anyone))).rejects.toMatchObject({ status: 401 });
      await expect(guard.canActivate(ctx(Things, p.anyone, 'Bearer a.b.c'))).resolves.toBe(true);
      await expect(guard.canActivate(ctx(Things, p.clerksOnly, 'Bearer a.b.c'))).rejects.toMatchObject({
        status: 403,
      });
    }
  });
});
