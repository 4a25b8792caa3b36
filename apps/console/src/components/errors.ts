import { ApiError } from '../api/client';

/** Message text of an API error, with its code (the API's errors are by code). */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.code ? `${e.code}: ${e.message}` : e.message;
  return e instanceof Error ? e.message : String(e);
}
