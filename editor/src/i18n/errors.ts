/**
 * Errors in the UI language. The server answers a SCREAMING_SNAKE code with an English message; where the code
 * has a translation (`errors.<CODE>`), that is shown, filled from the error's details; otherwise the server's
 * message is, so nothing is hidden.
 */
import type { TFunction } from 'i18next';
import { ApiError } from '../api/client.js';

export function errorText(t: TFunction, err: unknown): string {
  if (err instanceof ApiError) {
    const key = `errors.${err.code}`;
    const text = t(key, { ...err.details, message: err.message, defaultValue: '' });
    if (text && text !== key) return text;
  }
  return err instanceof Error ? err.message : String(err);
}
