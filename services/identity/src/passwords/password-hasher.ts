import { Injectable } from '@nestjs/common';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { IdentityConfig } from '../config/identity.config';

/** argon2id; a dummy hash keeps unknown usernames as slow as wrong passwords. */
@Injectable()
export class PasswordHasher {
  private dummy?: Promise<string>;

  constructor(private readonly config: IdentityConfig) {}

  hash(password: string): Promise<string> {
    return hash(password, {
      algorithm: Algorithm.Argon2id,
      memoryCost: this.config.ARGON2_MEMORY_KIB,
      timeCost: this.config.ARGON2_PASSES,
      parallelism: 1,
    });
  }

  async verify(hashed: string | undefined, password: string): Promise<boolean> {
    if (!hashed) {
      this.dummy ??= this.hash('dummy-password-for-timing');
      await verify(await this.dummy, password).catch(() => false);
      return false;
    }
    return verify(hashed, password).catch(() => false);
  }
}
