import type { ChatsPorts } from '../ports.ts';
import { can, type AuthContext, type Permission } from '../../auth/permissions.ts';
import { ForbiddenError } from '../../platform/errors.ts';
import { listClientChatsFor, startOptions, type ClientCard, type StartOptions } from './client-link.service.ts';
import type { ChatView } from '../chats.view.ts';
import { parseId } from '../../platform/http-params.ts';
import { findClientsByPhone } from '../../crm/clients.repository.ts';
import { getClient } from '../../crm/clients.service.ts';
import { phoneViews } from '../../crm/crm.view.ts';

/** The lists that show phone numbers (J1); any of them opens the hover card. */
const LIST_PERMISSIONS: readonly Permission[] = ['clients', 'leads', 'orders', 'estimates', 'invoices', 'calls'];

export interface Hovercard {
  /** The number hovered, as the list gave it (normalized). */
  phone: string;
  /** Only with the Clients permission: who the client is (name, every number, e-mail). */
  client: ClientCard | null;
  /** Other clients sharing the number (when found by phone; Clients permission only). */
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
 *
 * Who the client is belongs to the Clients permission (issue #21): `/clients/:id` is refused
 * without it, and so is the card's copy of it. Without Clients the card shows what the hovered
 * row already shows — the number itself — and, with Chats, the chats on the employee's own
 * channels of the client with that number (chats they may open anyway). Such a card is found by
 * the number only, never by `client_id`, and reads no name, e-mail or other number.
 */
export async function loadHovercard(deps: Pick<ChatsPorts, 'db' | 'adapters'>, auth: AuthContext, q: { phone?: unknown; client_id?: unknown }): Promise<Hovercard> {
  if (!LIST_PERMISSIONS.some((p) => can(auth, p))) throw new ForbiddenError();
  const phone = typeof q.phone === 'string' ? q.phone.trim().slice(0, 40) : '';
  const canChats = can(auth, 'chats');
  const canClients = can(auth, 'clients');
  const card: Hovercard = { phone, client: null, others: 0, canClients, canChats, chats: [], start: null };
  if (!canClients) {
    if (!canChats || !phone) return card;
    const [match] = await findClientsByPhone(deps.db, phone);
    if (match) card.chats = await listClientChatsFor(deps, auth, match.id);
    return card;
  }
  const byId = parseId(q.client_id);
  let client = byId ? await getClient(deps.db, byId) : undefined;
  if (!client && phone) {
    const matches = await findClientsByPhone(deps.db, phone);
    if (matches[0]) client = await getClient(deps.db, matches[0].id);
    card.others = Math.max(0, matches.length - 1);
  }
  if (!client) return card;
  card.client = { id: client.id, name: client.name, email: client.email, notes: null, phones: phoneViews(client.phones) };
  if (canChats) {
    card.chats = await listClientChatsFor(deps, auth, client.id);
    card.start = await startOptions(deps, auth, client.id, card.chats);
  }
  return card;
}
