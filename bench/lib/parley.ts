import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.ts';
import { createDeps, type Deps } from '../../src/deps.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { insertChannel, setChannelAccess } from '../../src/channels/channels.repository.ts';
import { encryptCredentials } from '../../src/channels/channels.service.ts';
import { insertEmployee, findRoleByName } from '../../src/auth/auth.repository.ts';
import { createSession } from '../../src/auth/auth.service.ts';
import { applyChannelEvents } from '../../src/chats/ingest/ingest.service.ts';
import { parleyEnv } from './env.ts';
import { inboundEvent, midFor, psidFor, textFor } from './meta.ts';

export const PAGE_ID = '104455667788990';
export const PAGE_TOKEN = 'EAAEMUpage104455667788990';
/** The WhatsApp number of the emulator's default configuration (emulator/config.ts). */
export const WA_PHONE_NUMBER_ID = '106540352242922';
export const WA_WABA_ID = '102290129340398';
export const WA_DISPLAY_NUMBER = '15550001234';
export const WA_TOKEN = 'EAAEMUwhatsapp106540352242922';

/** Parley's deps in the bench process (seeding, enqueueing, in-process measurements). */
export async function benchDeps(prefix: string, env: Record<string, string | undefined> = {}): Promise<Deps> {
  const config = loadConfig(parleyEnv(env));
  return createDeps(config, { redisPrefix: prefix, logger: createLogger('warn'), migrate: false });
}

export async function addChannel(
  deps: Deps,
  o: {
    kind?: 'messenger' | 'instagram' | 'whatsapp';
    name?: string;
    externalId?: string;
    /** WhatsApp: the WABA id. */
    parentExternalId?: string;
    token?: string;
    settings?: Record<string, unknown>;
    accessAll?: boolean;
  },
): Promise<number> {
  return insertChannel(deps.db, {
    kind: o.kind ?? 'messenger',
    name: o.name ?? 'Demo Repair Shop',
    externalId: o.externalId ?? PAGE_ID,
    parentExternalId: o.parentExternalId ?? null,
    credentialsEnc: encryptCredentials(deps.config.secretKey, { accessToken: o.token ?? PAGE_TOKEN }),
    settings: o.settings ?? { humanAgent: true },
    accessAll: o.accessAll ?? true,
  });
}

/**
 * Employees are inserted directly (no argon2 by default: the bench never logs in with a
 * password; the chaos suite, which logs in through the form, passes a real hash and the email).
 */
export async function addEmployee(deps: Deps, o: { name: string; role?: 'Agent' | 'Admin'; locale?: string | null; channels?: number[]; email?: string; passwordHash?: string }): Promise<number> {
  const role = await findRoleByName(deps.db, o.role ?? 'Agent');
  if (!role) throw new Error(`role ${o.role} missing`);
  const id = await insertEmployee(deps.db, {
    email: o.email ?? `${o.name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}.${randomBytes(3).toString('hex')}@bench.test`,
    name: o.name,
    passwordHash: o.passwordHash ?? '$argon2id$v=19$m=19456,t=2,p=1$bench$not-a-real-hash',
    roleId: role.id,
    locale: o.locale ?? null,
  });
  for (const ch of o.channels ?? []) {
    const current = await deps.db.selectFrom('channel_access').select('employee_id').where('channel_id', '=', ch).execute();
    await setChannelAccess(deps.db, ch, [...current.map((r) => r.employee_id), id]);
  }
  return id;
}

export async function sessionCookie(deps: Deps, employeeId: number): Promise<string> {
  const s = await createSession(deps.db, employeeId, deps.sessionPolicy);
  return `parley_session=${s.token}`;
}

/** A session's cookie and the CSRF token its pages carry (`_csrf` of every form it posts). */
export async function sessionWithCsrf(deps: Deps, employeeId: number): Promise<{ cookie: string; csrf: string }> {
  const s = await createSession(deps.db, employeeId, deps.sessionPolicy);
  return { cookie: `parley_session=${s.token}`, csrf: s.csrfToken };
}

/**
 * An inbox like a shop's: `chats` conversations on one channel, each with `perChat` messages
 * (inbound and the shop's answers, several languages), ingested through the product's own
 * ingest service so every maintained column (preview, counters, indicator) is what real
 * traffic would leave. Returns the chat ids, newest activity first.
 */
export async function seedInbox(deps: Deps, o: { channelId: number; pageId?: string; chats: number; perChat: number; tag: string; now?: number }): Promise<number[]> {
  const pageId = o.pageId ?? PAGE_ID;
  const now = o.now ?? Date.now();
  let n = 0;
  for (let c = 0; c < o.chats; c++) {
    const events = [];
    for (let m = 0; m < o.perChat; m++) {
      const at = new Date(now - (o.chats - c) * 3_600_000 - (o.perChat - m) * 60_000);
      const out = m % 3 === 2;
      events.push(inboundEvent({ pageId, psid: psidFor(c), mid: midFor(o.tag, n++), text: textFor(c + m), at, direction: out ? 'out' : 'in' }));
    }
    await applyChannelEvents(deps, { id: o.channelId, kind: 'messenger' }, events);
  }
  // Names as a profile fetch would have set them (and no profile job will be wanted).
  await deps.db.updateTable('contacts').set({ name: sql<string>`'Client ' || id`, profile_fetched_at: new Date() }).where('channel_id', '=', o.channelId).execute();
  const rows = await deps.db.selectFrom('chats').select('id').where('channel_id', '=', o.channelId).orderBy('last_message_at', 'desc').execute();
  return rows.map((r) => r.id);
}
