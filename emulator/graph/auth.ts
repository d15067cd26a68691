// Access tokens as the platform checks them: missing → 104, unknown/revoked/expired → 190
// (§6: "flag channel reconnect on 190"), valid but for another object → 200/210.
import { graphTime } from '../clock.ts';
import type { Ctx } from '../context.ts';
import type { Channel, TokenGrant } from '../state.ts';
import { errors, type Surface } from './errors.ts';

/** Token from `access_token` (query or body) or `Authorization: Bearer …` (§2.5, §4.5). */
export function extractToken(query: Record<string, string>, params: Record<string, unknown>, authorization: string | undefined): string | undefined {
  const bearer = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
  const fromParams = typeof params.access_token === 'string' ? params.access_token : undefined;
  return bearer ?? query.access_token ?? fromParams;
}

export function authenticate(ctx: Ctx, token: string | undefined, surface: Surface): TokenGrant {
  if (!token) throw errors.missingToken();
  const grant = ctx.store.tokens.get(token);
  if (!grant) throw errors.invalidToken(surface);
  if (grant.revoked) throw errors.revokedToken(surface);
  if (grant.expiresAt !== undefined && grant.expiresAt <= ctx.clock.now()) throw errors.expiredToken(surface, graphTime(grant.expiresAt));
  return grant;
}

export function requireAccess(grant: TokenGrant, objectId: string): void {
  if (grant.channelIds.includes(objectId)) return;
  if (grant.kind === 'user') throw errors.pageTokenRequired();
  throw errors.notAuthorizedFor(objectId);
}

/** Page token handed out through /me/accounts for this user token (kept until revoked). */
export function pageTokenForUser(ctx: Ctx, user: TokenGrant, pageChannel: Channel): string {
  const key = `${user.token}|${pageChannel.id}`;
  const existing = ctx.store.derivedPageTokens.get(key);
  if (existing && !ctx.store.tokens.get(existing)?.revoked) return existing;
  const channels = [pageChannel.id, ...(pageChannel.instagramId ? [pageChannel.instagramId] : [])];
  const grant = ctx.store.addToken({ token: ctx.ids.token('EAAEMUpage'), kind: 'page', channelIds: channels, scopes: user.scopes, userId: user.userId, now: ctx.clock.now() });
  ctx.store.derivedPageTokens.set(key, grant.token);
  return grant.token;
}
