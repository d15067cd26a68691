// WhatsApp Cloud API (meta-platform.md §4): POST /{phone-number-id}/messages (text, media by
// link or id, templates, reactions, `status: read`), POST /{phone-number-id}/media,
// GET/DELETE /{media-id}, GET /{waba-id}/message_templates, /phone_numbers, subscribed_apps.
// The send response only means "accepted" (§4.5): delivery, and several failures (131047 by
// default, 131026, 131053), come later as status webhooks.
import type { TemplateConfig } from '../config.ts';
import type { Ctx } from '../context.ts';
import type { MediaItem } from '../media.ts';
import { afterBusinessSend, failWhatsAppMessage, newBusinessMessage } from '../outbound.ts';
import type { Attachment, Channel, Message } from '../state.ts';
import { authenticate, requireAccess } from './auth.ts';
import { errors } from './errors.ts';
import { fetchRemote } from './fetch-remote.ts';
import { paginate } from './paging.ts';
import { objectParam, str, stringParam, type GraphRequest, type GraphResponse } from './request.ts';

type MediaKind = 'image' | 'audio' | 'video' | 'document' | 'sticker';
const MEDIA_TYPES: MediaKind[] = ['image', 'audio', 'video', 'document', 'sticker'];
const OTHER_TYPES = ['interactive', 'location', 'contacts'];

function requireNumber(ctx: Ctx, req: GraphRequest, id: string): Channel {
  const grant = authenticate(ctx, req.token, 'whatsapp');
  const channel = ctx.store.channels.get(id);
  if (channel?.platform !== 'whatsapp') throw errors.unsupported(req.method, id);
  requireAccess(grant, id);
  return channel;
}

function mediaKindForMime(mime: string): MediaKind {
  if (mime === 'image/webp') return 'sticker';
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime.startsWith('video/')) return 'video';
  return 'document';
}

function placeholders(text: string | undefined): number {
  const found = new Set<string>();
  for (const m of (text ?? '').matchAll(/\{\{(\d+)\}\}/g)) found.add(m[1] ?? '');
  return found.size;
}

/** Checks a template send against the account's templates (§4.6) and renders it for the UI. */
function renderTemplate(channel: Channel, raw: Record<string, unknown>): { template: TemplateConfig; rendered: string } {
  const name = str(raw.name);
  const language = raw.language && typeof raw.language === 'object' ? str((raw.language as Record<string, unknown>).code) : str(raw.language);
  if (!name) throw errors.waParam("Param template['name'] is required.");
  if (!language) throw errors.waParam("Param template['language']['code'] is required.");
  const template = channel.templates.find((t) => t.name === name && t.language === language);
  if (!template) throw errors.waTemplateMissing(name, language);
  if (template.status !== 'APPROVED') throw errors.waTemplateNotApproved(name);
  const components = Array.isArray(raw.components) ? (raw.components as Array<Record<string, unknown>>) : [];
  let rendered = '';
  for (const part of template.components) {
    if (part.type === 'BUTTONS' || !part.text) continue;
    const given = components.find((c) => String(c.type).toUpperCase() === part.type);
    const params = Array.isArray(given?.parameters) ? (given.parameters as Array<Record<string, unknown>>) : [];
    const expected = placeholders(part.text);
    if (params.length !== expected) {
      throw errors.waTemplateParams(`${part.type.toLowerCase()}: number of localizable_params (${params.length}) does not match the expected number of params (${expected})`);
    }
    const values = params.map(
      (p) => str(p.text) ?? str((p.currency as Record<string, unknown> | undefined)?.fallback_value) ?? str((p.date_time as Record<string, unknown> | undefined)?.fallback_value) ?? '',
    );
    rendered += `${rendered ? '\n' : ''}${part.text.replace(/\{\{(\d+)\}\}/g, (_m, n: string) => values[Number(n) - 1] ?? '')}`;
  }
  return { template, rendered };
}

export async function handleWhatsAppMessages(ctx: Ctx, req: GraphRequest, phoneNumberId: string): Promise<GraphResponse> {
  const channel = requireNumber(ctx, req, phoneNumberId);
  const fault = ctx.guards.takeFault(req.method, req.path, channel.id);
  if (fault) throw fault;
  const params = req.params;
  if (stringParam(params, 'messaging_product') !== 'whatsapp') throw errors.waParam('The parameter messaging_product is required and must be "whatsapp".');

  // Mark as read (§4.7): marks this and every earlier inbound message read.
  if (stringParam(params, 'status') === 'read') {
    const id = stringParam(params, 'message_id');
    const target = id ? ctx.store.messages.get(id) : undefined;
    const thread = target ? ctx.store.threadOf(target) : undefined;
    if (!target || !thread || thread.channelId !== channel.id) throw errors.waParam(`Invalid message_id: ${id ?? '(missing)'}`);
    if (target.direction !== 'in') throw errors.waParam('You cannot mark your own outgoing messages as read.');
    const now = ctx.clock.now();
    for (const m of thread.messages) if (m.direction === 'in' && m.timestamp <= target.timestamp) m.readByBusinessAt ??= now;
    thread.seenByBusinessAt = now;
    if (params.typing_indicator) thread.typingUntil = now + 25_000;
    return { json: { success: true }, channelId: channel.id, mutating: true };
  }

  const to = stringParam(params, 'to');
  if (!to) throw errors.waParam('The parameter to is required.');
  const waId = to.replace(/\D/g, '');
  const rate = ctx.guards.checkRate(channel, waId);
  if (rate) throw rate;

  const type = stringParam(params, 'type') ?? 'text';
  const now = ctx.clock.now();
  const fields: Partial<Message> = { waType: type };
  let fetchFailure: string | undefined;

  if (type === 'text') {
    const text = objectParam(params, 'text');
    const body = str(text?.body);
    if (!body) throw errors.waParam("Param text['body'] is required.");
    if ([...body].length > ctx.config.limits.whatsappTextChars) throw errors.waParam(`Param text['body'] must be at most ${ctx.config.limits.whatsappTextChars} characters long.`);
    fields.text = body;
  } else if ((MEDIA_TYPES as string[]).includes(type)) {
    const kind = type as MediaKind;
    const media = objectParam(params, kind);
    const id = str(media?.id);
    const link = str(media?.link);
    const limit = ctx.config.limits.whatsappMediaBytes[kind];
    let item: MediaItem | undefined;
    if (id) {
      item = ctx.media.get(id);
      if (!item || (item.expiresAt !== undefined && item.expiresAt <= now)) throw errors.waParam(`Param ${kind}['id'] is not a valid whatsapp business account media attachment ID`);
      if (item.size > limit) throw errors.waMediaUpload(`${kind} file size ${item.size} bytes exceeds the ${limit} bytes limit`);
    } else if (link) {
      if (ctx.config.media.fetchAttachmentUrls) {
        const fetched = await fetchRemote(ctx, link, limit);
        if (fetched.ok) item = ctx.media.add({ ...fetched.file, origin: 'fetched', now });
        else fetchFailure = fetched.tooBig ? `${kind} exceeds the ${limit} bytes limit` : `Downloading media from ${link} failed: ${fetched.reason}`;
      }
    } else throw errors.waParam(`Param ${kind} must have id or link.`);
    const attachment: Attachment = {
      type: kind,
      mediaId: item?.id,
      mimeType: item?.mimeType,
      filename: str(media?.filename) ?? item?.filename,
      caption: str(media?.caption),
      sourceUrl: link,
      size: item?.size,
    };
    fields.attachments = [attachment];
  } else if (type === 'template') {
    const raw = objectParam(params, 'template');
    if (!raw) throw errors.waParam('Param template is required.');
    const { template, rendered } = renderTemplate(channel, raw);
    fields.template = { name: template.name, language: template.language, rendered, category: template.category };
    fields.text = rendered;
  } else if (type === 'reaction') {
    const reaction = objectParam(params, 'reaction');
    const target = str(reaction?.message_id);
    if (!target || !ctx.store.messages.has(target)) throw errors.waParam("Param reaction['message_id'] is not a valid message id.");
    fields.text = str(reaction?.emoji) ?? '';
    fields.replyTo = target;
  } else if (OTHER_TYPES.includes(type)) {
    const raw = objectParam(params, type);
    fields.text = `[${type}] ${JSON.stringify(raw ?? {})}`;
  } else throw errors.waParam(`Unsupported message type: ${type}`);

  const context = objectParam(params, 'context');
  if (context?.message_id) fields.replyTo = str(context.message_id);
  fields.bizOpaqueCallbackData = stringParam(params, 'biz_opaque_callback_data');

  const person = ctx.store.personByPhone(waId);
  const thread = person ? ctx.store.findThread(channel.id, person.id) : undefined;
  const isTemplate = type === 'template';
  const age = thread?.lastInboundAt === undefined ? Number.POSITIVE_INFINITY : now - thread.lastInboundAt;
  const outsideWindow = !isTemplate && age > ctx.config.windows.standardMs;
  // 131047 "may come synchronously or as a failed status webhook" (§4.6); async by default.
  if (outsideWindow && person && ctx.config.whatsappWindowError === 'sync') throw errors.waWindow();

  const response = {
    messaging_product: 'whatsapp',
    contacts: [{ input: to, wa_id: waId }],
    messages: [isTemplate ? { id: '', message_status: 'accepted' } : { id: '' }],
  };

  if (!person) {
    // Not a WhatsApp user: accepted, then failed 131026 (§6).
    const ghost: Message = { id: ctx.ids.wamid(), threadId: '', direction: 'out', timestamp: now, attachments: [], source: 'api', deleted: false, edits: [], reactions: [], ...fields };
    failWhatsAppMessage(ctx, channel, undefined, ghost, undeliverable(), waId);
    (response.messages[0] as { id: string }).id = ghost.id;
    return { json: response, channelId: channel.id, mutating: true };
  }

  const target = ctx.store.ensureThread(channel, person, now);
  const message = newBusinessMessage(ctx, target, { source: 'api', appId: ctx.config.appId, ...fields });
  (response.messages[0] as { id: string }).id = message.id;
  if (person.unreachable) failWhatsAppMessage(ctx, channel, person, message, undeliverable(), waId);
  else if (outsideWindow) {
    failWhatsAppMessage(
      ctx,
      channel,
      person,
      message,
      {
        code: 131047,
        title: 'Re-engagement message',
        message: 'Re-engagement message',
        details: 'More than 24 hours have passed since the recipient last replied to the sender number.',
      },
      waId,
    );
  } else if (fetchFailure) {
    failWhatsAppMessage(ctx, channel, person, message, { code: 131053, title: 'Media upload error', message: 'Media upload error', details: fetchFailure }, waId);
  } else afterBusinessSend(ctx, channel, person, message);
  return { json: response, channelId: channel.id, mutating: true };
}

function undeliverable(): NonNullable<Message['error']> {
  return {
    code: 131026,
    title: 'Message undeliverable',
    message: 'Message undeliverable',
    details: 'Message Undeliverable.',
  };
}

/** POST /{phone-number-id}/media (multipart: file, type, messaging_product) → {id}. */
export function handleWhatsAppMediaUpload(ctx: Ctx, req: GraphRequest, phoneNumberId: string): GraphResponse {
  const channel = requireNumber(ctx, req, phoneNumberId);
  if (stringParam(req.params, 'messaging_product') !== 'whatsapp') throw errors.waParam('The parameter messaging_product is required and must be "whatsapp".');
  const file = req.files.file;
  if (!file) throw errors.waParam('The parameter file is required.');
  const mimeType = stringParam(req.params, 'type') ?? file.contentType;
  const kind = mediaKindForMime(mimeType);
  const limit = ctx.config.limits.whatsappMediaBytes[kind];
  if (file.data.length > limit) throw errors.waMediaUpload(`${kind} file size ${file.data.length} bytes exceeds the ${limit} bytes limit`);
  const now = ctx.clock.now();
  const item = ctx.media.add({ bytes: file.data, filename: file.filename, mimeType, origin: 'upload', now, expiresAt: now + ctx.config.media.whatsappUploadIdTtlMs, channelId: channel.id });
  return { json: { id: item.id }, channelId: channel.id, mutating: true };
}

/** GET /{media-id} → {url, mime_type, sha256, file_size, id}; the URL lives 5 minutes (§4.2). */
export function whatsappMediaInfo(ctx: Ctx, req: GraphRequest, item: MediaItem): GraphResponse {
  const grant = authenticate(ctx, req.token, 'whatsapp');
  if (item.channelId) requireAccess(grant, item.channelId);
  const now = ctx.clock.now();
  // Media ids expire (7 days from webhooks, 30 days uploaded): then the object is gone.
  if (item.expiresAt !== undefined && item.expiresAt <= now) throw errors.unsupported(req.method, item.id);
  const phone = req.query.phone_number_id;
  if (phone && item.channelId && phone !== item.channelId) throw errors.waParam('The media does not belong to this phone_number_id.');
  if (req.method === 'DELETE') {
    item.deleted = true;
    return { json: { success: true }, channelId: item.channelId, mutating: true };
  }
  return {
    json: {
      messaging_product: 'whatsapp',
      url: ctx.media.whatsappUrl(ctx.mediaBaseUrl(), item, now + ctx.config.media.whatsappUrlTtlMs),
      mime_type: item.mimeType,
      sha256: item.sha256,
      file_size: item.size,
      id: item.id,
    },
    channelId: item.channelId,
  };
}

function wabaNumbers(ctx: Ctx, wabaId: string): Channel[] {
  return [...ctx.store.channels.values()].filter((c) => c.platform === 'whatsapp' && c.wabaId === wabaId);
}

function requireWaba(ctx: Ctx, req: GraphRequest, wabaId: string): Channel[] {
  const grant = authenticate(ctx, req.token, 'whatsapp');
  const numbers = wabaNumbers(ctx, wabaId);
  if (!numbers.length) throw errors.unsupported(req.method, wabaId);
  requireAccess(grant, wabaId);
  return numbers;
}

export function isWaba(ctx: Ctx, id: string): boolean {
  return wabaNumbers(ctx, id).length > 0;
}

/** GET /{waba-id}/message_templates (§4.6). */
export function handleTemplates(ctx: Ctx, req: GraphRequest, wabaId: string, selfUrl: string): GraphResponse {
  const numbers = requireWaba(ctx, req, wabaId);
  const seen = new Set<string>();
  let templates = numbers
    .flatMap((n) => n.templates)
    .filter((t) => {
      const key = `${t.name}|${t.language}`;
      return seen.has(key) ? false : (seen.add(key), true);
    });
  if (req.query.name) templates = templates.filter((t) => t.name.includes(req.query.name ?? ''));
  if (req.query.status) templates = templates.filter((t) => t.status === req.query.status?.toUpperCase());
  if (req.query.language) templates = templates.filter((t) => t.language === req.query.language);
  if (req.query.category) templates = templates.filter((t) => t.category === req.query.category?.toUpperCase());
  const page = paginate(templates, req.query, 25, selfUrl, (t) => ({
    name: t.name,
    parameter_format: 'POSITIONAL',
    components: t.components,
    language: t.language,
    status: t.status,
    category: t.category,
    id: t.id,
  }));
  return { json: page };
}

export function phoneNumberJson(channel: Channel): Record<string, unknown> {
  return {
    verified_name: channel.name,
    code_verification_status: 'VERIFIED',
    display_phone_number: `+${channel.displayPhoneNumber ?? ''}`,
    quality_rating: 'GREEN',
    platform_type: 'CLOUD_API',
    throughput: { level: 'STANDARD' },
    id: channel.id,
  };
}

export function handlePhoneNumbers(ctx: Ctx, req: GraphRequest, wabaId: string): GraphResponse {
  const numbers = requireWaba(ctx, req, wabaId);
  return { json: { data: numbers.map(phoneNumberJson) } };
}

export function handleWabaSubscribedApps(ctx: Ctx, req: GraphRequest, wabaId: string): GraphResponse {
  requireWaba(ctx, req, wabaId);
  if (req.method === 'GET') {
    return { json: { data: [{ whatsapp_business_api_data: { id: ctx.config.appId, link: `https://www.facebook.com/games/?app_id=${ctx.config.appId}`, name: ctx.config.appName } }] } };
  }
  return { json: { success: true }, mutating: true };
}

export function wabaJson(ctx: Ctx, req: GraphRequest, wabaId: string): GraphResponse {
  const numbers = requireWaba(ctx, req, wabaId);
  return { json: { id: wabaId, name: numbers[0]?.name ?? 'WhatsApp Business Account', currency: 'EUR', timezone_id: '1', message_template_namespace: `ns_${wabaId}` } };
}
