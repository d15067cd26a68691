import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { migrations } from '../migrations/index.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrator.ts';
import { SEED_DB, dbUrl } from './lib/env.ts';
import { databaseExists, recreateDatabase } from './lib/db.ts';
import { TEXTS as LEAD_TEXTS } from './lib/meta.ts';

/**
 * The P4/P6 data set, generated inside PostgreSQL with generate_series (nothing checked in):
 * 10 channels, 100,000 contacts and chats, 10,000,000 messages (100 per chat), plus three
 * employees (an admin, an agent on every channel, an agent on 2 of the 10 channels).
 *
 * The shape follows what the product maintains: each chat's last_message_at / last_message_id /
 * preview / unread_count / indicator agree with its messages; 80 % of chats are open; 3 % are
 * unread (1–3 unread inbound messages at the end), 7 % unanswered (the lead wrote last), the rest
 * answered. Message texts are multilingual (Cyrillic, accents, CJK, emoji); external ids look like
 * Messenger mids.
 *
 * Run alone with `npx tsx bench/seed-chats.ts [--reseed]`; `npm run bench` calls it for P4. The
 * database `parley_bench` is reused while its marker row matches this seed's version and the
 * migration list; `--reseed` forces a rebuild.
 */
export const SEED = { version: 3, channels: 10, chats: 100_000, perChat: 100 };
export const MESSAGES = SEED.chats * SEED.perChat;

export function seedKey(): string {
  return createHash('sha256')
    .update(JSON.stringify({ ...SEED, migrations: Object.keys(migrations) }))
    .digest('hex')
    .slice(0, 16);
}

export interface SeedInfo {
  key: string;
  seeded_at: Date;
  seconds: number;
  chats: number;
  messages: number;
  admin_id: number;
  agent_all_id: number;
  agent_two_id: number;
}

export async function readSeedInfo(): Promise<SeedInfo | null> {
  if (!(await databaseExists(SEED_DB))) return null;
  const c = new pg.Client({ connectionString: dbUrl(SEED_DB) });
  await c.connect();
  try {
    const r = await c.query(`SELECT * FROM bench_seed ORDER BY seeded_at DESC LIMIT 1`).catch(() => null);
    const row = r?.rows[0] as SeedInfo | undefined;
    return row ?? null;
  } finally {
    await c.end();
  }
}

// The leads' texts of the other scenarios, and the shop's answers.
const TEXTS = [...LEAD_TEXTS, 'Yes, 89 € for the screen, about 40 minutes.', 'We are open until 19:00 today.'];
const TEXT_ARRAY = `ARRAY[${TEXTS.map((t) => `'${t.replace(/'/g, "''")}'`).join(', ')}]::text[]`;

/** Deterministic per-chat attributes, shared by the chats and messages statements. */
const H = (col: string) => `((${col}::bigint * 2654435761) % 1000)`; // 0..999, spread
const LAST_AT = (col: string) => `(timestamptz '2026-11-01 12:00:00+00' - make_interval(secs => ((${col}::bigint * 7919) % 31536000)))`;
const INDICATOR = (col: string) => `(CASE WHEN ${H(col)} < 30 THEN 'unread' WHEN ${H(col)} < 100 THEN 'unanswered' ELSE 'none' END)`;
const UNREAD = (col: string) => `(CASE WHEN ${H(col)} < 30 THEN 1 + ${H(col)} % 3 ELSE 0 END)`;
const ARCHIVED = (col: string) => `(((${col}::bigint * 40503) % 10) < 2)`;
const CHANNEL = (col: string) => `(1 + (${col} % ${SEED.channels}))`;

export async function ensureSeed(opts: { reseed?: boolean; log?: (s: string) => void } = {}): Promise<SeedInfo> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const key = seedKey();
  if (!opts.reseed) {
    const info = await readSeedInfo();
    if (info && info.key === key) {
      log(
        `seed: reusing ${SEED_DB} (${info.chats.toLocaleString('en-US')} chats, ${info.messages.toLocaleString('en-US')} messages, built ${info.seeded_at.toISOString()} in ${Math.round(info.seconds)} s)`,
      );
      return info;
    }
    if (info) log(`seed: ${SEED_DB} is from another seed/migration set; rebuilding`);
  }
  const t0 = performance.now();
  const step = (what: string, since: number) => log(`seed: ${what} (${((performance.now() - since) / 1000).toFixed(1)} s)`);
  log(`seed: building ${SEED_DB}: ${SEED.chats.toLocaleString('en-US')} chats, ${MESSAGES.toLocaleString('en-US')} messages (takes a few minutes, once)`);
  await recreateDatabase(SEED_DB);
  const database = await openDatabase({ databaseUrl: dbUrl(SEED_DB) });
  await migrateToLatest(database.db);
  await database.close();

  const c = new pg.Client({ connectionString: dbUrl(SEED_DB) });
  await c.connect();
  const q = (text: string, params?: unknown[]) => c.query(text, params);
  try {
    await q(`SET synchronous_commit = off`);
    await q(`SET maintenance_work_mem = '512MB'`);
    await q(`SET work_mem = '64MB'`);
    let t = performance.now();
    // Channels: five Pages and their Instagram accounts; none open to all (per-employee access).
    await q(`
      INSERT INTO channels (id, kind, name, external_id, parent_external_id, settings, access_all)
      SELECT g, CASE WHEN g % 2 = 1 THEN 'messenger' ELSE 'instagram' END,
             'Shop ' || ((g + 1) / 2) || CASE WHEN g % 2 = 1 THEN ' (Page)' ELSE ' (Instagram)' END,
             (104455667700000 + g)::text, CASE WHEN g % 2 = 0 THEN (104455667700000 + g - 1)::text END,
             '{"humanAgent": true}', false
      FROM generate_series(1, ${SEED.channels}) g`);
    await q(`SELECT setval('channels_id_seq', ${SEED.channels})`);
    const roles = await q(`SELECT id, is_admin FROM roles ORDER BY id`);
    const adminRole = roles.rows.find((r) => r.is_admin).id;
    const agentRole = roles.rows.find((r) => !r.is_admin).id;
    const emp = await q(
      `INSERT INTO employees (email, name, password_hash, role_id) VALUES
         ('owner@bench.test', 'Owner', 'x', $1), ('agent.all@bench.test', 'Agent All', 'x', $2), ('agent.two@bench.test', 'Agent Two', 'x', $2)
       RETURNING id, email`,
      [adminRole, agentRole],
    );
    const id = (email: string) => emp.rows.find((r) => r.email === email).id as number;
    const [adminId, agentAll, agentTwo] = [id('owner@bench.test'), id('agent.all@bench.test'), id('agent.two@bench.test')];
    await q(`INSERT INTO channel_access (channel_id, employee_id) SELECT g, $1 FROM generate_series(1, ${SEED.channels}) g`, [agentAll]);
    await q(`INSERT INTO channel_access (channel_id, employee_id) VALUES (1, $1), (2, $1)`, [agentTwo]);

    await q(`
      INSERT INTO contacts (id, channel_id, external_id, name, username, profile_fetched_at, created_at)
      SELECT g, ${CHANNEL('g')}, (7100000000000000 + g)::text,
             (ARRAY['Anna','Marc','Olga','Pierre','Yuki','Lena','Carlos','Sofia','Ivan','Chloé'])[1 + g % 10] || ' ' ||
             (ARRAY['Petrova','Dubois','Müller','García','Tanaka','Rossi','Novak','Martin','Smirnov','Bernard'])[1 + (g / 10) % 10] || ' ' || g,
             CASE WHEN g % 2 = 0 THEN 'client.' || g END, now(), now()
      FROM generate_series(1, ${SEED.chats}) g`);
    await q(`SELECT setval('contacts_id_seq', ${SEED.chats})`);

    // Message k (0..99) of chat c has id k * chats + c; the last one (k = 99) is the preview.
    const lastId = (col: string) => `(${SEED.perChat - 1}::bigint * ${SEED.chats} + ${col})`;
    await q(`
      INSERT INTO chats (id, channel_id, contact_id, status, archived_at, archived_by, last_message_at, last_message_id, last_direction,
                         last_inbound_at, preview_kind, preview_text, unread_count, indicator, read_up_to_message_id, created_at)
      SELECT g, ${CHANNEL('g')}, g,
             CASE WHEN ${ARCHIVED('g')} THEN 'archived' ELSE 'open' END,
             CASE WHEN ${ARCHIVED('g')} THEN ${LAST_AT('g')} + interval '1 hour' END,
             CASE WHEN ${ARCHIVED('g')} THEN ${adminId} END,
             ${LAST_AT('g')}, ${lastId('g')},
             CASE WHEN ${INDICATOR('g')} = 'none' THEN 'out' ELSE 'in' END,
             ${LAST_AT('g')} - CASE WHEN ${INDICATOR('g')} = 'none' THEN interval '17 minutes' ELSE interval '0' END,
             'text', (${TEXT_ARRAY})[1 + (${lastId('g')} % ${TEXTS.length})],
             ${UNREAD('g')}, ${INDICATOR('g')},
             ${lastId('g')} - ${UNREAD('g')}::bigint * ${SEED.chats},
             ${LAST_AT('g')} - interval '30 days'
      FROM generate_series(1, ${SEED.chats}) g`);
    await q(`SELECT setval('chats_id_seq', ${SEED.chats})`);
    await q(`UPDATE employees SET red_dot = true`);
    step('channels, employees, contacts, chats', t);

    // Bulk load: drop the messages table's indexes and constraints, insert, rebuild them from
    // their own definitions (so the schema stays exactly the migration's).
    t = performance.now();
    const idx = await q(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'messages'
         AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'messages'::regclass)`,
    );
    const cons = await q(
      `SELECT conname, pg_get_constraintdef(oid) AS def, contype FROM pg_constraint
        WHERE conrelid = 'messages'::regclass AND contype IN ('p', 'f', 'u') ORDER BY contype DESC`,
    );
    // FKs of other tables pointing here (attachments.message_id → messages.id) depend on the
    // primary key: they go first and come back last.
    const inbound = await q(
      `SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE confrelid = 'messages'::regclass AND conrelid <> 'messages'::regclass AND contype = 'f'`,
    );
    for (const r of inbound.rows) await q(`ALTER TABLE ${r.tbl} DROP CONSTRAINT ${r.conname}`);
    for (const r of cons.rows.filter((r) => r.contype === 'f')) await q(`ALTER TABLE messages DROP CONSTRAINT ${r.conname}`);
    for (const r of cons.rows.filter((r) => r.contype !== 'f')) await q(`ALTER TABLE messages DROP CONSTRAINT ${r.conname}`);
    for (const r of idx.rows) await q(`DROP INDEX ${r.indexname}`);

    const batch = 1_000_000;
    for (let from = 1; from <= MESSAGES; from += batch) {
      const to = Math.min(MESSAGES, from + batch - 1);
      const tb = performance.now();
      // i → chat c = 1 + (i-1) % chats, position k = (i-1) / chats (0..99).
      await q(`
        INSERT INTO messages (id, chat_id, channel_id, direction, kind, text, external_id, status, sort_at, created_at, sent_at, delivered_at, read_at, meta)
        SELECT i, c, ${CHANNEL('c')}, dir, 'text', (${TEXT_ARRAY})[1 + (i % ${TEXTS.length})], 'm_' || md5(i::text) || 'bench',
               CASE WHEN dir = 'in' THEN 'received' ELSE 'read' END,
               at, at,
               CASE WHEN dir = 'out' THEN at END, CASE WHEN dir = 'out' THEN at + interval '5 seconds' END,
               CASE WHEN dir = 'out' THEN at + interval '2 minutes' END, '{}'
        FROM (
          SELECT i, c, k,
                 CASE
                   WHEN k = ${SEED.perChat - 1} THEN (CASE WHEN ${INDICATOR('c')} = 'none' THEN 'out' ELSE 'in' END)
                   WHEN k >= ${SEED.perChat} - ${UNREAD('c')} THEN 'in'
                   WHEN (k + c) % 3 = 0 THEN 'out' ELSE 'in'
                 END AS dir,
                 ${LAST_AT('c')} - make_interval(mins => ((${SEED.perChat - 1} - k) * 17)::int) AS at
          FROM (SELECT i, 1 + (i - 1) % ${SEED.chats} AS c, (i - 1) / ${SEED.chats} AS k FROM generate_series(${from}::bigint, ${to}::bigint) i) s
        ) m`);
      step(`messages ${to.toLocaleString('en-US')} / ${MESSAGES.toLocaleString('en-US')}`, tb);
    }
    await q(`SELECT setval('messages_id_seq', ${MESSAGES})`);
    step('messages inserted', t);

    t = performance.now();
    for (const r of cons.rows.filter((r) => r.contype !== 'f')) await q(`ALTER TABLE messages ADD CONSTRAINT ${r.conname} ${r.def}`);
    for (const r of idx.rows) await q(r.indexdef);
    step('messages indexes rebuilt', t);
    t = performance.now();
    for (const r of cons.rows.filter((r) => r.contype === 'f')) await q(`ALTER TABLE messages ADD CONSTRAINT ${r.conname} ${r.def}`);
    for (const r of inbound.rows) await q(`ALTER TABLE ${r.tbl} ADD CONSTRAINT ${r.conname} ${r.def}`);
    step('foreign keys validated', t);
    t = performance.now();
    await q(`VACUUM (ANALYZE) chats`);
    await q(`VACUUM (ANALYZE) contacts`);
    await q(`VACUUM (ANALYZE) channels`);
    await q(`VACUUM (ANALYZE) employees`);
    await q(`VACUUM (ANALYZE) channel_access`);
    await q(`VACUUM (ANALYZE) messages`);
    // The thread-version triggers rewrote each chat's row once per batch of messages: without
    // this, autovacuum would work through ~900k dead rows during later scenarios.
    await q(`VACUUM (ANALYZE) thread_versions`);
    step('vacuum analyze', t);

    const seconds = (performance.now() - t0) / 1000;
    await q(`CREATE TABLE bench_seed (key text, seeded_at timestamptz, seconds real, chats int, messages bigint, admin_id int, agent_all_id int, agent_two_id int)`);
    await q(`INSERT INTO bench_seed VALUES ($1, now(), $2, $3, $4, $5, $6, $7)`, [key, seconds, SEED.chats, MESSAGES, adminId, agentAll, agentTwo]);
    log(`seed: done in ${seconds.toFixed(0)} s`);
  } finally {
    await c.end();
  }
  const info = await readSeedInfo();
  if (!info) throw new Error('seed marker missing after seeding');
  return info;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await ensureSeed({ reseed: process.argv.includes('--reseed') });
}
