/**
 * Settings › Chats forms: what the admin (or `parley channel:add`) typed, checked and cleaned
 * before anything reaches the platform, and the refusal a connection answers with.
 */
import { ValidationError } from '../../platform/errors.ts';
import * as repo from '../channels.repository.ts';
import type { Conn } from '../ports.ts';

export const CONNECT_KINDS = ['messenger', 'instagram'] as const;
export type ConnectKind = (typeof CONNECT_KINDS)[number];

export function isConnectKind(v: unknown): v is ConnectKind {
  return v === 'messenger' || v === 'instagram';
}

export const MAX_NAME = 120;
export const MAX_RATE = 1000;
const MAX_TOKEN = 2048;

/**
 * A refused connection: `fields` as in ValidationError (`form` for what belongs to no single
 * field), plus the platform's own words in `reason` (shown escaped, never a token).
 */
export class ConnectError extends ValidationError {
  constructor(
    fields: Record<string, string>,
    readonly reason?: string,
  ) {
    super(fields, reason ?? 'Cannot connect the channel');
    this.name = 'ConnectError';
  }
}

export type AccessInput = { all: true } | { all: false; employeeIds: number[] };

const strip = (s: string) => s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();

export function parseName(raw: string | undefined, errors: Record<string, string>, required: boolean): string | undefined {
  const name = strip(raw ?? '');
  if (!name) {
    if (required) errors.name = 'validation.required';
    return undefined;
  }
  if (name.length > MAX_NAME) errors.name = 'validation.too_long';
  return name;
}

export function parseToken(raw: string | undefined, errors: Record<string, string>): string {
  const token = (raw ?? '').trim();
  if (!token) errors.token = 'validation.required';
  else if (token.length > MAX_TOKEN || !/^[\x21-\x7e]+$/.test(token)) errors.token = 'channels.error.token_format';
  return token;
}

export function parseExternalId(raw: string | undefined, errors: Record<string, string>, field = 'external_id'): string {
  const id = (raw ?? '').trim();
  if (!id) errors[field] = 'validation.required';
  else if (!/^\d{1,32}$/.test(id)) errors[field] = 'channels.error.external_id';
  return id;
}

/** "All employees" or a list of active employees' ids. */
export async function parseAccess(db: Conn, access: string | undefined, ids: string | string[] | undefined, errors: Record<string, string>): Promise<AccessInput> {
  if (access === 'all' || access === undefined || access === '') return { all: true };
  if (access !== 'list') {
    errors.access = 'validation.choice';
    return { all: true };
  }
  const raw = ids === undefined ? [] : Array.isArray(ids) ? ids : [ids];
  const wanted = [...new Set(raw.map((s) => String(s).trim()).filter(Boolean))];
  if (wanted.some((s) => !/^\d{1,9}$/.test(s))) {
    errors.access = 'channels.error.access_unknown';
    return { all: false, employeeIds: [] };
  }
  const active = new Set((await repo.listActiveEmployees(db)).map((e) => e.id));
  const employeeIds = wanted.map(Number);
  if (employeeIds.some((id) => !active.has(id))) errors.access = 'channels.error.access_unknown';
  return { all: false, employeeIds: employeeIds.filter((id) => active.has(id)) };
}

export function parseRate(raw: string | undefined, errors: Record<string, string>): number | undefined {
  const s = (raw ?? '').trim();
  if (!s) return undefined;
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < 1 || n > MAX_RATE) {
    errors.rate_limit = 'channels.error.rate_limit';
    return undefined;
  }
  return n;
}
