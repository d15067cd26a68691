// POST/GET/DELETE /{page-id}/subscribed_apps (§1.5): which webhook fields this app receives for
// the Page (and, through the Page, for its Instagram account).
import { MESSENGER_PAGE_FIELDS } from '../config.ts';
import type { Ctx } from '../context.ts';
import { authenticate } from './auth.ts';
import { errors } from './errors.ts';
import { listParam, type GraphRequest, type GraphResponse } from './request.ts';
import { resolveSender } from './send.ts';

export function handleSubscribedApps(ctx: Ctx, req: GraphRequest, objectId: string): GraphResponse {
  const grant = authenticate(ctx, req.token, 'graph');
  // Needs a Page token (§1.5).
  if (grant.kind === 'user') throw errors.pageTokenRequired();
  const sender = resolveSender(ctx, grant, objectId);
  const page = sender.platform === 'instagram' && sender.pageId ? ctx.store.requireChannel(sender.pageId) : sender;
  const fault = ctx.guards.takeFault(req.method, req.path, page.id);
  if (fault) throw fault;
  if (req.method === 'GET') {
    const data = page.subscribedFields.length
      ? [{ category: 'Business', link: `https://parley.example/`, name: ctx.config.appName, id: ctx.config.appId, subscribed_fields: page.subscribedFields }]
      : [];
    return { json: { data }, channelId: page.id };
  }
  if (req.method === 'DELETE') {
    page.subscribedFields = [];
    return { json: { success: true }, channelId: page.id, mutating: true };
  }
  const fields = listParam(req.params, 'subscribed_fields');
  if (!fields?.length) throw errors.invalidParam('The parameter subscribed_fields is required.');
  const unknown = fields.filter((f) => !MESSENGER_PAGE_FIELDS.includes(f) && !EXTRA_PAGE_FIELDS.includes(f));
  if (unknown.length) throw errors.invalidParam(`Param subscribed_fields[${unknown.join(',')}] is not a valid webhook field`);
  page.subscribedFields = [...new Set(fields)];
  return { json: { success: true }, channelId: page.id, mutating: true };
}

/** Other Page fields Meta accepts; stored, though the emulator emits no events for them. */
const EXTRA_PAGE_FIELDS = [
  'messaging_optins',
  'messaging_optouts',
  'messaging_referrals',
  'messaging_handovers',
  'messaging_policy_enforcement',
  'messaging_account_linking',
  'message_reactions',
  'standby',
  'mention',
  'name',
  'picture',
  'conversations',
  'ratings',
  'leadgen',
];
