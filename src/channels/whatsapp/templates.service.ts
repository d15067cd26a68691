/**
 * WhatsApp message templates (H4, meta-platform.md §4.6): the WABA's templates are cached per
 * channel from `GET /{waba-id}/message_templates` (on connect, from the composer's and the
 * settings page's Refresh, and in the background when the cache is an hour old). The composer
 * offers only APPROVED ones whose variable parts are body text parameters, preferring the
 * chat's language; the message the thread keeps is the text the customer sees.
 */
import type { TemplateComponent } from '../../db/schema.ts';
import { processorOf } from '../../platform/jobs/ref.ts';
import { refreshTemplatesRef } from '../jobs.refs.ts';
import { inTransaction } from '../../platform/tx.ts';
import { ValidationError } from '../../platform/errors.ts';
import { platformRefusal } from '../channels.service.ts';
import { createGraphClient } from '../meta/graph-client.ts';
import type { ChannelsPorts } from '../ports.ts';
import { loadRuntime } from '../runtimes.ts';
import { findTemplate, listTemplates, replaceTemplates, type TemplateRow } from './templates.repository.ts';
import { readSetting, writeSetting } from '../../platform/app-settings.repository.ts';

const fetchedKey = (channelId: number) => `whatsapp-templates:${channelId}`;

/** The cache is refreshed in the background once it is older than this. */
export const TEMPLATES_STALE_MS = 3600_000;
/** WhatsApp's limit on one body parameter is generous; Parley's 1000 characters bound the message. */
const MAX_PARAM = 200;
const MAX_PAGES = 20;

interface GraphTemplate {
  name?: string;
  language?: string;
  status?: string;
  category?: string;
  components?: TemplateComponent[];
}

/** Placeholders `{{1}}`, `{{2}}`… of a text (POSITIONAL format). */
function placeholderCount(text: string | undefined): number {
  const found = new Set<string>();
  for (const m of (text ?? '').matchAll(/\{\{\s*(\d+)\s*\}\}/g)) found.add(m[1]!);
  return found.size;
}

export interface OfferedTemplate {
  /** `name:language`, the form's value. */
  key: string;
  name: string;
  language: string;
  category: string | null;
  /** The text parts in order (header, body, footer), placeholders as written. */
  parts: string[];
  params: number;
}

/**
 * Whether Parley can send it: approved, and nothing but body text to fill in (a header with a
 * variable or an image needs values the composer does not ask for).
 */
function sendable(t: TemplateRow): OfferedTemplate | null {
  if (t.status !== 'APPROVED') return null;
  let params = 0;
  const parts: string[] = [];
  for (const c of t.components ?? []) {
    const type = String(c.type).toUpperCase();
    // Only numbered body values are asked for: a named value ({{first_name}}) or a button with a
    // variable (a dynamic URL) would be sent without it (132000).
    if (/\{\{\s*[^\d\s}]/.test(c.text ?? '')) return null;
    if (type === 'BUTTONS') {
      if ((c.buttons ?? []).some((b) => /\{\{/.test(JSON.stringify(b)))) return null;
      continue;
    }
    if (type === 'HEADER' && c.format && c.format !== 'TEXT') return null;
    if (type !== 'BODY' && placeholderCount(c.text) > 0) return null;
    if (type === 'BODY') params = placeholderCount(c.text);
    if (c.text) parts.push(c.text);
  }
  if (!parts.length) return null;
  return { key: `${t.name}:${t.language}`, name: t.name, language: t.language, category: t.category, parts, params };
}

/** The text the customer sees: the parts joined by line breaks, `{{n}}` replaced by the n-th value. */
export function renderTemplateText(t: OfferedTemplate, values: string[]): string {
  return t.parts.map((p) => p.replace(/\{\{\s*(\d+)\s*\}\}/g, (_m, n: string) => values[Number(n) - 1] ?? `{{${n}}}`)).join('\n');
}

/** Country calling codes whose language a shop's templates are likely written in. */
const LANGUAGE_BY_CALLING_CODE: Array<[string, string]> = [
  ['33', 'fr'],
  ['32', 'fr'],
  ['352', 'fr'],
  ['377', 'fr'],
  ['225', 'fr'],
  ['221', 'fr'],
  ['212', 'fr'],
  ['216', 'fr'],
  ['1', 'en'],
  ['44', 'en'],
  ['353', 'en'],
  ['61', 'en'],
  ['64', 'en'],
  ['7', 'ru'],
  ['375', 'ru'],
  ['49', 'de'],
  ['43', 'de'],
  ['34', 'es'],
  ['39', 'it'],
  ['351', 'pt'],
  ['55', 'pt'],
  ['380', 'uk'],
];

/**
 * The chat's language, for choosing among a template's translations: the language of the
 * number's country where Parley knows one, otherwise the employee's.
 */
export function chatLanguage(phone: string | null, fallback: string): string {
  const digits = phone?.startsWith('+') ? phone.slice(1) : null;
  if (digits) {
    const hit = [...LANGUAGE_BY_CALLING_CODE].sort((a, b) => b[0].length - a[0].length).find(([code]) => digits.startsWith(code));
    if (hit) return hit[1];
  }
  return fallback;
}

const base = (lang: string) => lang.toLowerCase().split(/[_-]/)[0]!;

/**
 * The templates the composer offers, one per name: the translation in the chat's language
 * where there is one (else English, else the first), then the others of that name.
 */
export async function offeredTemplates(deps: Pick<ChannelsPorts, 'db'>, channelId: number, language: string): Promise<{ templates: OfferedTemplate[]; fetchedAt: Date | null }> {
  const [rows, fetched] = await Promise.all([listTemplates(deps.db, channelId), readSetting<{ at?: string }>(deps.db, fetchedKey(channelId))]);
  // When the list was last fetched, kept apart: a WABA with no template has no row to tell it.
  const fetchedAt = fetched?.at ? new Date(fetched.at) : null;
  const offered = rows.map(sendable).filter((t): t is OfferedTemplate => t !== null);
  const rank = (t: OfferedTemplate) => (base(t.language) === base(language) ? 0 : base(t.language) === 'en' ? 1 : 2);
  offered.sort((a, b) => a.name.localeCompare(b.name) || rank(a) - rank(b) || a.language.localeCompare(b.language));
  return { templates: offered, fetchedAt };
}

/** A template choice from the form (`name:language`), or null when it is not one on offer. */
export async function chosenTemplate(deps: Pick<ChannelsPorts, 'db'>, channelId: number, key: string | undefined): Promise<OfferedTemplate | null> {
  const m = /^([a-z0-9_]{1,512}):([A-Za-z_]{2,10})$/.exec(key ?? '');
  if (!m) return null;
  const row = await findTemplate(deps.db, channelId, m[1]!, m[2]!);
  return row ? sendable(row) : null;
}

/** Checks the form's values for a template: one per placeholder, each filled in and short. */
export function templateValues(t: OfferedTemplate, raw: Array<string | undefined>): string[] {
  const values = Array.from({ length: t.params }, (_, i) => (raw[i] ?? '').replace(/\s+/g, ' ').trim());
  const errors: Record<string, string> = {};
  values.forEach((v, i) => {
    if (!v) errors[`param_${i + 1}`] = 'validation.required';
    else if ([...v].length > MAX_PARAM) errors[`param_${i + 1}`] = 'validation.too_long';
  });
  if (Object.keys(errors).length) throw new ValidationError({ text: 'chats.template.params_missing', ...errors });
  return values;
}

/** Fetches every page of the WABA's templates and replaces the cache. */
export async function refreshTemplates(deps: Pick<ChannelsPorts, 'config' | 'db' | 'logger'>, channelId: number): Promise<number> {
  const channel = await loadRuntime(deps, channelId);
  if (channel?.kind !== 'whatsapp' || !channel.parentExternalId) return 0;
  const token = String(channel.credentials.accessToken ?? '');
  const graph = createGraphClient(deps, { timeoutMs: 15_000 });
  const list: GraphTemplate[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const r = await graph.get<{ data?: GraphTemplate[]; paging?: { cursors?: { after?: string }; next?: string } }>(`${channel.parentExternalId}/message_templates`, token, {
      fields: 'name,language,status,category,components',
      limit: 100,
      ...(after ? { after } : {}),
    });
    list.push(...(r?.data ?? []));
    after = r?.paging?.next ? r.paging.cursors?.after : undefined;
    if (!after) break;
  }
  const rows = list
    .filter((t) => typeof t.name === 'string' && typeof t.language === 'string')
    .map((t) => ({
      name: t.name!,
      language: t.language!,
      status: String(t.status ?? 'UNKNOWN').toUpperCase(),
      category: t.category ?? null,
      components: Array.isArray(t.components) ? t.components : [],
    }));
  const at = new Date();
  await inTransaction(deps.db, deps.logger, async (tx) => {
    await replaceTemplates(tx.db, channelId, rows, at);
    await writeSetting(tx.db, fetchedKey(channelId), { at: at.toISOString() });
  });
  return rows.length;
}

/** Background refresh (after connecting, and when the composer finds the cache stale). */
export function refreshTemplatesJob(deps: Pick<ChannelsPorts, 'config' | 'db' | 'logger'>) {
  return processorOf(refreshTemplatesRef, async ({ channelId }) => {
    await refreshTemplates(deps, channelId).catch((err: unknown) => platformRefusal(deps, channelId, err));
  });
}
