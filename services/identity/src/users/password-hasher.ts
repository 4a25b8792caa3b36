import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';
import { IdentityConfig } from '../config/identity.config';

// @node-rs/argon2's Algorithm is a const enum (not importable under isolatedModules): 2 = Argon2id.
const ARGON2ID = 2;

/** argon2id password hashing; cost from config. */
@Injectable()
export class PasswordHasher {
  private dummy: Promise<string> | null = null;

  constructor(private readonly config: IdentityConfig) {}

  hash(password: string): Promise<string> {
    return hash(password, {
      algorithm: ARGON2ID,
      memoryCost: this.config.PASSWORD_HASH_MEMORY_KIB,
      timeCost: this.config.PASSWORD_HASH_ITERATIONS,
      parallelism: 1,
    });
  }

  async verify(stored: string, password: string): Promise<boolean> {
    try {
      return await verify(stored, password);
    } catch {
      return false;
    }
  }

  /** Spends the same time as a real check, so an unknown username is not told apart by timing. */
  async burn(password: string): Promise<void> {
    this.dummy ??= this.hash('not-a-real-password-for-timing');
    await this.verify(await this.dummy, password);
  }
}
