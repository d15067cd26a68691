import type { Deps } from '../deps.ts';
import { can, type AuthContext, type Permission } from '../auth/permissions.ts';
import { ForbiddenError } from '../platform/errors.ts';
import { listClientChatsFor, startOptions, type ClientCard, type StartOptions } from '../chats/client-link.service.ts';
import type { ChatView } from '../chats/chats.view.ts';
import { parseId } from './common.ts';
import { findClientsByPhone } from './clients.repository.ts';
import { getClient } from './clients.service.ts';
import { phoneViews } from './crm.view.ts';

/** The lists that show phone numbers (J1); any of them opens the hover card. */
const LIST_PERMISSIONS: readonly Permission[] = ['clients', 'leads', 'orders', 'estimates', 'invoices', 'calls'];

export interface Hovercard {
  /** The number hovered, as the list gave it (normalized). */
  phone: string;
  client: ClientCard | null;
  /** Other clients sharing the number (when found by phone). */
  others: number;
  canClients: boolean;
  /** J4: false → contacts only. */
  canChats: boolean;
  /** Only chats on channels this employee may use. */
  chats: ChatView[];
  start: StartOptions | null;
}

/**
 * The phone hover card (J1–J4): the client by the list's `client_id` (else by the number), the
 * contacts, and — for employees with Chats — the client's chats on the channels they use.
 */
export async function loadHovercard(deps: Deps, auth: AuthContext, q: { phone?: unknown; client_id?: unknown }): Promise<Hovercard> {
  if (!LIST_PERMISSIONS.some((p) => can(auth, p))) throw new ForbiddenError();
  const phone = typeof q.phone === 'string' ? q.phone.trim().slice(0, 40) : '';
  const byId = parseId(q.client_id);
  let client = byId ? await getClient(deps.db, byId) : undefined;
  let others = 0;
  if (!client && phone) {
    const matches = await findClientsByPhone(deps.db, phone);
    if (matches[0]) client = await getClient(deps.db, matches[0].id);
    others = Math.max(0, matches.length - 1);
  }
  const canChats = can(auth, 'chats');
  const card: Hovercard = { phone, client: null, others, canClients: can(auth, 'clients'), canChats, chats: [], start: null };
  if (!client) return card;
  card.client = { id: client.id, name: client.name, email: client.email, notes: null, phones: phoneViews(client.phones) };
  if (canChats) {
    card.chats = await listClientChatsFor(deps, auth, client.id);
    card.start = await startOptions(deps, auth, client.id, card.chats);
  }
  return card;
}
