import type { ChatsPorts } from '../ports.ts';
import { can, type AuthContext } from '../../auth/permissions.ts';
import { NotFoundError, ValidationError } from '../../platform/errors.ts';
import { KINDS } from '../../crm/documents.kinds.ts';
import * as repo from './saved-replies.repository.ts';

export const SHORTCUT_PATTERN = /^[A-Za-z0-9_-]{1,30}$/;
export const MAX_TEXT = 1000;
/** How many replies the composer's list shows at most. */
export const LIST_LIMIT = 8;
/** Orders that are still open: every status but the two that end one. */
const OPEN_ORDER_STATUSES = KINDS.order.statuses.filter((s) => s !== 'done' && s !== 'cancelled');

export interface SavedReplyInput {
  shortcut: string;
  text: string;
  /** 'shared' (admins only) or 'own'; used when creating. */
  scope: 'shared' | 'own';
}

/** The form's values, trimmed (a leading `/` typed into the shortcut is dropped). */
export function readInput(body: Record<string, unknown> | undefined): SavedReplyInput {
  const b = body ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    shortcut: str(b.shortcut).trim().replace(/^\//, ''),
    text: str(b.text).replace(/\r\n/g, '\n').trim(),
    scope: b.scope === 'shared' ? 'shared' : 'own',
  };
}

function validate(auth: AuthContext, v: SavedReplyInput): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!v.shortcut) errors.shortcut = 'validation.required';
  else if (!SHORTCUT_PATTERN.test(v.shortcut)) errors.shortcut = 'savedreplies.error.shortcut';
  if (!v.text) errors.text = 'validation.required';
  else if ([...v.text].length > MAX_TEXT) errors.text = 'validation.too_long';
  if (v.scope === 'shared' && !auth.isAdmin) errors.scope = 'validation.choice';
  return errors;
}

export function listForSettings(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext) {
  return repo.listSavedRepliesFor(deps.db, auth.employeeId);
}

/** A reply the employee may edit; anything else (another's, shared for a non-admin, missing) is a 404. */
export async function getEditable(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext, id: number) {
  const row = await repo.findManageableSavedReply(deps.db, auth.employeeId, id);
  if (!row) throw new NotFoundError();
  return row;
}

export async function createSavedReply(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext, v: SavedReplyInput): Promise<number> {
  const errors = validate(auth, v);
  if (Object.keys(errors).length) throw new ValidationError(errors);
  const id = await repo.insertSavedReply(deps.db, { ownerEmployeeId: v.scope === 'shared' ? null : auth.employeeId, shortcut: v.shortcut, text: v.text });
  if (id === null) throw new ValidationError({ shortcut: 'savedreplies.error.taken' });
  return id;
}

export async function updateSavedReply(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext, id: number, v: SavedReplyInput): Promise<void> {
  const current = await getEditable(deps, auth, id);
  const errors = validate(auth, { ...v, scope: 'own' });
  if (Object.keys(errors).length) throw new ValidationError(errors);
  if (await repo.shortcutTaken(deps.db, current.owner_employee_id, v.shortcut, id)) throw new ValidationError({ shortcut: 'savedreplies.error.taken' });
  try {
    if (!(await repo.updateManageableSavedReply(deps.db, auth.employeeId, id, v))) throw new NotFoundError();
  } catch (err) {
    // Renamed to the same shortcut by someone else at the same moment: the unique index says so.
    if ((err as { code?: string }).code === '23505') throw new ValidationError({ shortcut: 'savedreplies.error.taken' });
    throw err;
  }
}

export async function deleteSavedReply(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext, id: number): Promise<void> {
  if (!(await repo.deleteManageableSavedReply(deps.db, auth.employeeId, id))) throw new NotFoundError();
}

export interface PlaceholderValues {
  client_name: string | null;
  order_number: string | null;
}

/** `{client_name}` and `{order_number}` filled where there is a value; the rest stays as typed. */
export function fillPlaceholders(text: string, values: PlaceholderValues): string {
  return text.replace(/\{(client_name|order_number)\}/g, (whole, name: keyof PlaceholderValues) => values[name] ?? whole);
}

/**
 * The composer's list for a chat the employee may see (404 otherwise): their replies and the
 * shared ones matching `q`, each with its text filled for this chat.
 */
export async function savedRepliesForChat(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext, chatId: number, rawQ: unknown) {
  const values = await repo.placeholderValuesOf(deps.db, auth.employeeId, chatId, can(auth, 'orders') ? OPEN_ORDER_STATUSES : null);
  if (!values) throw new NotFoundError();
  const q = typeof rawQ === 'string' ? rawQ.trim().replace(/^\//, '').slice(0, 100) : '';
  const rows = await repo.searchSavedReplies(deps.db, auth.employeeId, q, LIST_LIMIT);
  return rows.map((r) => ({ id: r.id, shortcut: r.shortcut, shared: r.owner_employee_id === null, text: r.text, filled: fillPlaceholders(r.text, values) }));
}
