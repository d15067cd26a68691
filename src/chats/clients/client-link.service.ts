import type { ChatsPorts, LivePorts, ChangePorts } from '../ports.ts';
import { can, type AuthContext } from '../../auth/permissions.ts';
import type { DocumentKind } from '../../db/schema.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../platform/errors.ts';
import type { MessageKey } from '../../platform/i18n/index.ts';
import { inTransaction, type Tx } from '../../platform/tx.ts';
import { LOCALES } from '../../platform/i18n/index.ts';
import { renderPartial } from '../../platform/views.ts';
import { parseId } from '../../platform/http-params.ts';
import { normalizePhone } from '../../crm/phone.ts';
import { clientExists, findClientsByPhone, listPhonesForClients, searchClients } from '../../crm/clients.repository.ts';
import { createClient, getClient, CLIENT_LIMITS } from '../../crm/clients.service.ts';
import { createDocument, listClientDocuments, parseAmount, visibleKinds, DOCUMENT_LIMITS } from '../../crm/documents.service.ts';
import { KINDS, isDocumentKind, type KindConfig } from '../../crm/documents.kinds.ts';
import { documentView, phoneViews, type PhoneView } from '../../crm/crm.view.ts';
import { channelsOf } from '../chats.service.ts';
import { findChatIn } from '../chats.repository.ts';
import { toChatView, type ChatView } from '../chats.view.ts';
import * as repo from './client-link.repository.ts';
import { lockChatOfContact, upsertContactAndChat } from '../ingest/ingest.repository.ts';
import { publishChatChange } from '../live/chats.live.ts';

/** How many likely clients the panel offers, and how much of the chat it reads to find them. */
export const SUGGESTION_LIMIT = 5;
const SCANNED_MESSAGES = 30;
const SCANNED_NUMBERS = 5;
export const SEARCH_LIMIT = 8;
export const CLIENT_CHATS_LIMIT = 20;
export const PANEL_DOCUMENTS_LIMIT = 20;
/** D3: what the panel's buttons create (invoices are made from the document pages). */
export const FROM_CHAT_KINDS: readonly DocumentKind[] = ['lead', 'order', 'estimate'];

export interface ClientCard {
  id: number;
  name: string;
  email: string | null;
  notes: string | null;
  phones: PhoneView[];
}

export interface Suggestion {
  client: ClientCard;
  reason: 'phone' | 'message_phone' | 'name';
  /** The number that matched, as the lead gave it. */
  phone: string | null;
}

export interface StartOption {
  channelId: number;
  channelKind: string;
  channelName: string;
  /** The chat to open on this channel (the client's linked chat), or null: one is started from the client's number. */
  chatId: number | null;
}

export interface StartOptions {
  options: StartOption[];
  /** Why no chat can be started (shown instead of the buttons), or null. */
  reasonKey: MessageKey | null;
}

export interface ClientPanel {
  chat: ChatView;
  canClients: boolean;
  client: ClientCard | null;
  chats: ChatView[];
  documents: ReturnType<typeof documentView>[];
  /** The document kinds this employee may create from the chat. */
  newKinds: KindConfig[];
  suggestions: Suggestion[];
  /** The "create a client from this lead" form's values. */
  draft: { name: string; phone: string; notes: string };
  /** The "new document" form's values. */
  docDraft: { amount: string; notes: string };
  errors: Record<string, string>;
  flash: { key: MessageKey; params: Record<string, string>; url?: string } | null;
}

export type PanelExtras = Partial<Pick<ClientPanel, 'errors' | 'flash'>> & {
  draft?: ClientPanel['draft'];
  docDraft?: ClientPanel['docDraft'];
};

const str = (v: unknown, max = 5000): string => (typeof v === 'string' ? v.trim().slice(0, max) : '');

function requireClients(auth: AuthContext): void {
  // Searching, creating and linking clients reads and writes the client base: Clients permission.
  if (!can(auth, 'clients')) throw new ForbiddenError();
}

/** The chat if this employee may see it (one visibility lookup, reused for the client's other chats). */
async function visibleChat(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext, chatId: number): Promise<{ chat: ChatView; channels: readonly number[] }> {
  const channels = await channelsOf(deps, auth);
  const row = await findChatIn(deps.db, chatId, channels);
  if (!row) throw new NotFoundError();
  return { chat: toChatView(row), channels };
}

async function clientCards(deps: Pick<ChatsPorts, 'db'>, rows: Array<{ id: number; name: string; email: string | null; notes?: string | null }>): Promise<ClientCard[]> {
  const phones = await listPhonesForClients(
    deps.db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({ id: r.id, name: r.name, email: r.email, notes: r.notes ?? null, phones: phoneViews(phones.get(r.id)) }));
}

/**
 * Phone numbers a lead typed in free text ("my number is +33 6 12 34 56 78"), normalized,
 * in order of appearance. Runs of digits with the usual separators; 6 to 17 digits so that
 * prices and short codes are not taken for numbers (a date may be: it then matches no client).
 */
export function phonesInText(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\+?\d[\d \u00a0().\-/]{3,24}\d/g)) {
    const digits = m[0].replace(/\D/g, '');
    if (digits.length < 6 || digits.length > 17) continue;
    const n = normalizePhone(m[0]);
    if (n && !out.includes(n)) out.push(n);
  }
  return out;
}

/** D3 suggestions: the contact's phone, numbers written in the chat, then the same name. */
export async function suggestClients(deps: Pick<ChatsPorts, 'db'>, chat: ChatView, texts: string[]): Promise<Suggestion[]> {
  const found = new Map<number, { id: number; name: string; email: string | null; reason: Suggestion['reason']; phone: string | null }>();
  const add = (c: { id: number; name: string; email: string | null }, reason: Suggestion['reason'], phone: string | null) => {
    if (!found.has(c.id) && found.size < SUGGESTION_LIMIT) found.set(c.id, { id: c.id, name: c.name, email: c.email, reason, phone });
  };
  if (chat.phone) for (const m of await findClientsByPhone(deps.db, chat.phone)) add(m, 'phone', chat.phone);
  const written = texts
    .flatMap(phonesInText)
    .filter((n, i, all) => all.indexOf(n) === i)
    .slice(0, SCANNED_NUMBERS);
  for (const n of written) for (const m of await findClientsByPhone(deps.db, n)) add(m, 'message_phone', n);
  if (chat.name && !chat.hidden) for (const c of await repo.findClientsByName(deps.db, chat.name, SUGGESTION_LIMIT)) add(c, 'name', null);
  const rows = [...found.values()];
  const cards = await clientCards(deps, rows);
  return rows.map((r, i) => ({ client: cards[i]!, reason: r.reason, phone: r.phone }));
}

/** The client's chats the employee may see (every channel they use), newest activity first. */
export async function clientChatsIn(deps: Pick<ChatsPorts, 'db'>, clientId: number, channels: readonly number[]): Promise<ChatView[]> {
  return (await repo.listClientChats(deps.db, clientId, channels, CLIENT_CHATS_LIMIT)).map((r) => toChatView(r));
}

export async function listClientChatsFor(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext, clientId: number): Promise<ChatView[]> {
  if (!can(auth, 'chats')) return [];
  return clientChatsIn(deps, clientId, await channelsOf(deps, auth));
}

/**
 * E5: where this employee can write to the client now. Messenger and Instagram only reach a
 * person who wrote to the account first, so they qualify when one of their contacts is linked
 * to the client (the chat exists: starting it opens it). A channel that reaches people by phone
 * number (WhatsApp) qualifies whenever the client has an international number: the chat is
 * created on the first click, and its composer offers the templates (H4).
 */
export async function startOptions(deps: Pick<ChatsPorts, 'db' | 'adapters'>, auth: AuthContext, clientId: number, chats: ChatView[]): Promise<StartOptions> {
  if (!can(auth, 'chats')) return { options: [], reasonKey: null };
  const channels = await repo.listChannelsByIds(deps.db, await channelsOf(deps, auth));
  if (channels.length === 0) return { options: [], reasonKey: 'clientchats.no_channels' };
  // Starting by phone reads the client's number: the Clients permission (the card's own rule).
  const phone = can(auth, 'clients') ? await reachablePhone(deps, clientId) : null;
  const options: StartOption[] = [];
  for (const ch of channels) {
    const chat = chats.find((c) => c.channelId === ch.id);
    if (chat) options.push({ channelId: ch.id, channelKind: ch.kind, channelName: ch.name, chatId: chat.id });
    else if (phone && deps.adapters.get(ch.kind)?.contactForPhone?.(phone)) options.push({ channelId: ch.id, channelKind: ch.kind, channelName: ch.name, chatId: null });
  }
  return { options, reasonKey: options.length ? null : 'clientchats.unreachable' };
}

/** The client's first number with a country code (a person on WhatsApp is known by it). */
async function reachablePhone(deps: Pick<ChatsPorts, 'db'>, clientId: number): Promise<string | null> {
  const phones = await listPhonesForClients(deps.db, [clientId]);
  return (phones.get(clientId) ?? []).map((p) => p.normalized).find((n) => n.startsWith('+')) ?? null;
}

/** "Start a chat" on one channel: the chat to open, or why the client cannot be reached there. */
export async function startChat(deps: ChangePorts & Pick<ChatsPorts, 'adapters'>, auth: AuthContext, clientId: number, channelIdRaw: unknown): Promise<number> {
  if (!(await clientExists(deps.db, clientId))) throw new NotFoundError();
  const channels = await channelsOf(deps, auth);
  const channelId = parseId(channelIdRaw);
  if (channelId === null || !channels.includes(channelId)) throw new ValidationError({ channel_id: 'clientchats.not_reachable' });
  const [chat] = await repo.listClientChats(deps.db, clientId, [channelId], 1);
  if (chat) return chat.id;
  // By phone number: the person's chat on the channel (created when they never wrote), linked
  // to the client unless it already belongs to someone.
  const [channel] = await repo.listChannelsByIds(deps.db, [channelId]);
  const phone = can(auth, 'clients') ? await reachablePhone(deps, clientId) : null;
  const external = channel && phone ? deps.adapters.get(channel.kind)?.contactForPhone?.(phone) : null;
  if (!channel || !phone || !external) throw new ValidationError({ channel_id: 'clientchats.not_reachable' });
  return inTransaction(deps.db, deps.logger, async (tx) => {
    const cc = await upsertContactAndChat(tx.db, { channelId, externalId: external, name: null, username: null, phone, phoneNormalized: phone, at: new Date() });
    const chatId = cc.chat_id ?? (await lockChatOfContact(tx.db, cc.contact_id)).id;
    await repo.linkIfUnlinked(tx.db, chatId, clientId);
    await publishChatChange(deps, tx, chatId, { moved: true, header: true }, { redDots: cc.created });
    return chatId;
  });
}

function notesPrefill(chat: ChatView, kindLabel: (kind: string) => string): string {
  const label = kindLabel(chat.channelKind);
  const who = chat.username ? '@' + chat.username : (chat.name ?? '');
  return who ? `${label} (${chat.channelName}): ${who}` : `${label} (${chat.channelName})`;
}

/**
 * Everything the details panel shows about the chat's client (D3): the card, the client's
 * chats and documents when linked; suggestions and the "create from the lead" form when not.
 * `kindLabel` names a channel kind in the employee's language (for the notes prefill).
 */
export async function loadClientPanel(
  deps: Pick<ChatsPorts, 'db' | 'adapters'>,
  auth: AuthContext,
  chatId: number,
  kindLabel: (kind: string) => string,
  extras: PanelExtras = {},
): Promise<ClientPanel> {
  const { chat, channels } = await visibleChat(deps, auth, chatId);
  const canClients = can(auth, 'clients');
  const texts = await repo.recentInboundTexts(deps.db, chat.id, SCANNED_MESSAGES);
  const base: ClientPanel = {
    chat,
    canClients,
    client: null,
    chats: [],
    documents: [],
    newKinds: [],
    suggestions: [],
    draft: extras.draft ?? { name: '', phone: '', notes: '' },
    docDraft: extras.docDraft ?? { amount: '', notes: (texts[0] ?? '').slice(0, 500) },
    errors: extras.errors ?? {},
    flash: extras.flash ?? null,
  };
  const client = chat.clientId ? await getClient(deps.db, chat.clientId) : undefined;
  if (client) {
    const kinds = visibleKinds((p) => can(auth, p));
    const [chats, documents] = await Promise.all([clientChatsIn(deps, client.id, channels), listClientDocuments(deps.db, client.id, { kinds, limit: PANEL_DOCUMENTS_LIMIT })]);
    return {
      ...base,
      client: { id: client.id, name: client.name, email: client.email, notes: client.notes, phones: phoneViews(client.phones) },
      chats,
      documents: documents.map(documentView),
      newKinds: FROM_CHAT_KINDS.filter((k) => kinds.includes(k)).map((k) => KINDS[k]),
    };
  }
  if (!canClients) return base;
  const suggestions = await suggestClients(deps, chat, texts);
  const written = texts.flatMap(phonesInText)[0];
  return {
    ...base,
    suggestions,
    draft: extras.draft ?? {
      name: chat.hidden ? '' : (chat.name ?? chat.username ?? ''),
      phone: chat.phone ?? written ?? '',
      notes: notesPrefill(chat, kindLabel),
    },
  };
}

/** Clients matching the search box (name, email, or a phone number in any format). */
export async function searchClientsForChat(deps: Pick<ChatsPorts, 'db'>, auth: AuthContext, chatId: number, rawQ: unknown): Promise<ClientCard[]> {
  requireClients(auth);
  await visibleChat(deps, auth, chatId);
  const q = str(rawQ, 100);
  if (!q) return [];
  const rows = await searchClients(deps.db, { q, limit: SEARCH_LIMIT, offset: 0 });
  return clientCards(deps, rows.slice(0, SEARCH_LIMIT));
}

/**
 * Tells every open copy of this chat's client panel (other employees, other tabs) to reload
 * itself: the event carries the panel's placeholder, which fetches GET /chats/:id/client with
 * the viewer's own permissions, so no client data travels to someone who may not see it.
 * The browser leaves alone the actor's own panel and a panel someone is typing in.
 */
async function announcePanelChange(deps: LivePorts, tx: Tx, chat: ChatView, actorId: number): Promise<void> {
  for (const locale of LOCALES) {
    const html = renderPartial(deps.eta, '/chats/clients/_client_panel', locale, { chat, clientPanel: null, oob: true, by: actorId });
    await deps.live.record(tx, { audience: 'channel', channelId: chat.channelId, name: 'ui', html, locale });
  }
}

export async function linkClient(deps: ChangePorts, auth: AuthContext, chatId: number, clientIdRaw: unknown): Promise<void> {
  requireClients(auth);
  const { chat } = await visibleChat(deps, auth, chatId);
  const clientId = parseId(clientIdRaw);
  if (clientId === null || !(await clientExists(deps.db, clientId))) throw new ValidationError({ client_id: 'validation.unknown_client' });
  await inTransaction(deps.db, deps.logger, async (tx) => {
    await repo.setChatClient(tx.db, chat.id, clientId);
    await announcePanelChange(deps, tx, chat, auth.employeeId);
  });
}

export async function unlinkClient(deps: ChangePorts, auth: AuthContext, chatId: number): Promise<void> {
  requireClients(auth);
  const { chat } = await visibleChat(deps, auth, chatId);
  await inTransaction(deps.db, deps.logger, async (tx) => {
    await repo.setChatClient(tx.db, chat.id, null);
    await announcePanelChange(deps, tx, chat, auth.employeeId);
  });
}

/** D3 "create the client from the lead's data": one transaction creates the client and links the chat. */
export async function createClientFromChat(deps: ChangePorts, auth: AuthContext, chatId: number, form: Record<string, unknown>): Promise<number> {
  requireClients(auth);
  const { chat } = await visibleChat(deps, auth, chatId);
  const input = {
    name: str(form.name, CLIENT_LIMITS.name + 1),
    notes: str(form.notes, CLIENT_LIMITS.notes + 1),
    phones: [str(form.phone, CLIENT_LIMITS.phone + 1)],
  };
  return inTransaction(deps.db, deps.logger, async (tx) => {
    const id = await createClient(tx.db, input);
    await repo.setChatClient(tx.db, chat.id, id);
    await announcePanelChange(deps, tx, chat, auth.employeeId);
    return id;
  });
}

/** A lead, order or estimate for the chat's client (D3), prefilled with the client. */
export async function createDocumentFromChat(deps: ChangePorts, auth: AuthContext, chatId: number, form: Record<string, unknown>): Promise<{ id: number; number: string; kind: DocumentKind }> {
  const { chat } = await visibleChat(deps, auth, chatId);
  const kind = form.kind;
  if (!isDocumentKind(kind) || !FROM_CHAT_KINDS.includes(kind)) throw new ValidationError({ kind: 'validation.choice' });
  if (!can(auth, KINDS[kind].permission)) throw new ForbiddenError();
  if (!chat.clientId) throw new ValidationError({ client_id: 'validation.unknown_client' });
  const amountRaw = str(form.amount, 40);
  const amountCents = amountRaw === '' ? 0 : parseAmount(amountRaw);
  if (amountCents === null) throw new ValidationError({ amount: 'validation.amount' });
  const notes = str(form.notes, DOCUMENT_LIMITS.notes + 1);
  const clientId = chat.clientId;
  const doc = await inTransaction(deps.db, deps.logger, async (tx) => {
    const created = await createDocument(tx.db, { kind, clientId, amountCents, notes });
    await announcePanelChange(deps, tx, chat, auth.employeeId);
    return created;
  });
  return { ...doc, kind };
}
