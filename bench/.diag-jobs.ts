// scratch (not committed): statements per send job / per webhook job
import pg from 'pg';
import { startEmulator } from '../src/emulator/index.ts';
import { freshDatabase, deleteRedisPrefix } from './lib/db.ts';
import { dbUrl, META_APP_SECRET } from './lib/env.ts';
import { addChannel, addEmployee, benchDeps, seedInbox, PAGE_ID } from './lib/parley.ts';
import { messengerPayload, midFor, psidFor, textFor } from './lib/meta.ts';
import { metaJsonStringify } from '../src/emulator/signature.ts';
import { insertInboxDeliveries } from '../src/channels/meta/inbox.repository.ts';

const DB = 'parley_bench_run_wkdiag';
const log: string[] = [];
let on = false;
const orig = pg.Client.prototype.query as any;
(pg.Client.prototype as any).query = function (this: any, q: any, v?: any, cb?: any) {
  if (on) log.push(typeof q === 'string' ? q : q.text);
  return orig.call(this, q, v, cb);
};
const database = await freshDatabase(DB, dbUrl(DB));
await database.close();
process.env.BENCH_RUN_DB = DB;
const emu = await startEmulator({ pages: [{ id: PAGE_ID, name: 'Shop', accessToken: 'EAAEMUpage104455667788990' }], whatsapp: [], people: Array.from({ length: 5 }, (_, i) => ({ id: `p${i}`, name: `P${i}` })), webhooks: { handshakeOnStart: false, autoDeliver: false, callbackUrl: undefined } });
const prefix = 'parleybench:diag:' + process.pid;
const { parleyEnv } = await import('./lib/env.ts');
const { loadConfig } = await import('../src/config.ts');
const { createDeps } = await import('../src/deps.ts');
const { createLogger } = await import('../src/platform/logger.ts');
const deps = await createDeps(loadConfig({ ...parleyEnv({ META_GRAPH_URL: emu.url }), DATABASE_URL: dbUrl(DB) }), { redisPrefix: prefix, logger: createLogger('warn'), migrate: false });
const channelId = await addChannel(deps, {});
for (let i = 0; i < 10; i++) await addEmployee(deps, { name: `Agent ${i}`, locale: i % 2 ? 'fr' : 'en' });
const { applyChannelEvents } = await import('../src/chats/ingest.service.ts');
const { inboundEvent } = await import('./lib/meta.ts');
emu.send('p0', PAGE_ID, 'Hello');
const out = await applyChannelEvents(deps, { id: channelId, kind: 'messenger' }, [inboundEvent({ pageId: PAGE_ID, psid: emu.scopedId('p0', PAGE_ID), mid: midFor('seed', 0), text: 'hello', at: new Date() })]);
const chats = [out[0]!.chatId!];
const show = (title: string) => {
  console.log(`== ${title}: ${log.length} statements`);
  if (process.argv.includes('-v')) for (const l of log) console.log('   ' + l.slice(0, 160));
  log.length = 0;
};
// send job
const sender = await addEmployee(deps, { name: 'Sender' });
for (let k = 0; k < 2; k++) {
  const [m] = await deps.db.insertInto('messages').values({ chat_id: chats[0]!, channel_id: channelId, direction: 'out', kind: 'text', text: 'hi ' + k, external_id: null, sender_employee_id: sender, status: 'queued', idempotency_key: 'diagkey' + k, sort_at: new Date(), meta: JSON.stringify({ messagingType: 'RESPONSE' }) }).returning('id').execute();
  on = true;
  await deps.jobs.sendMessage.process({ messageId: m!.id }, { attempt: 1, jobId: 'x' });
  on = false;
  show('send-message #' + k);
}
// webhook job
for (let k = 0; k < 2; k++) {
  const body = metaJsonStringify(messengerPayload({ pageId: PAGE_ID, psid: emu.scopedId('p0', PAGE_ID), mid: midFor('diag', k), text: textFor(k), timestamp: Date.now() }));
  const [id] = await insertInboxDeliveries(deps.db, [{ source: 'meta', body }]);
  on = true;
  await deps.jobs.processWebhook.process({ inboxId: id! }, { attempt: 1, jobId: 'x' });
  on = false;
  show('process-webhook #' + k);
}
await deps.queue.idle().catch(() => {});
await deps.close();
await emu.close();
await deleteRedisPrefix(prefix);
process.exit(0);
