import { performance } from 'node:perf_hooks';
import { startEmulator, type Emulator, type RecordedCall } from '../../emulator/index.ts';
import { applyChannelEvents } from '../../src/chats/ingest/ingest.service.ts';
import type { Deps } from '../../src/deps.ts';
import { RUN_DB, dbUrl, parleyEnv, redisPrefix } from '../lib/env.ts';
import { deleteRedisPrefix, freshDatabase } from '../lib/db.ts';
import { startChild, type Child } from '../lib/child.ts';
import { inboundEvent, midFor, nameFor, textFor, waIdFor, whatsappPayload } from '../lib/meta.ts';
import { WA_DISPLAY_NUMBER, WA_PHONE_NUMBER_ID, WA_TOKEN, WA_WABA_ID, addChannel, addEmployee, benchDeps } from '../lib/parley.ts';
import { parseWhatsAppWebhook } from '../../src/channels/whatsapp/webhook-parser.ts';
import { CpuMeter, cpuLine } from '../lib/cpu.ts';
import { sleep } from '../lib/stats.ts';
import { ActivitySampler, activityLines } from '../lib/pgstats.ts';
import type { BullQueue } from '../../src/platform/jobs/bullmq-queue.ts';
import type { Check, Scenario } from '../lib/report.ts';

const PAGE_A = '200000000000001';
const PAGE_B = '200000000000002';
const TOKEN_A = 'EAAEMUbenchPageA000000000000000000000001';
const TOKEN_B = 'EAAEMUbenchPageB000000000000000000000002';
const PEOPLE = 20;
/**
 * WhatsApp phase: the number upgraded to the 1,000 mps tier (§7: 130429 beyond), the pair
 * limit's documented burst (45 messages to one person in 6 s: 131056 beyond), Parley's channel
 * paced at WA_LIMIT sends/s, WA_PEOPLE recipients served round robin.
 */
const WA_PEOPLE = 200;
const WA_LIMIT = 600;
const WA_TIER_MPS = 1000;
const WA_PAIR_BURST = { max: 45, windowMs: 6000 };

type Key = 'A' | 'B' | 'W';

interface Phase {
  name: string;
  plan: Key[];
  workers: number;
  /** The phase stops after this long even if the queue is not drained. */
  maxS: number;
  /** Runs before the phase's messages are queued (e.g. a channel setting changed). */
  before?: () => Promise<void>;
}

interface PhaseResult {
  name: string;
  workers: number;
  messages: number;
  drainS: number;
  done: number;
  failed: number;
  calls: Record<Key, number[]>;
  refused: number;
  /** Refusals by Graph error code (613, 130429, 131056 …). */
  refusedBy: Record<string, number>;
  /** Parley message ids (`metadata` / `biz_opaque_callback_data`) sent more than once. */
  duplicates: number;
  /** Platform message ids (mid / wamid) the emulator answered more than once. */
  duplicateExternalIds: number;
  /** The phase's messages by final status (before the unsent ones are marked failed). */
  statuses: Record<string, number>;
  /** Messages marked sent whose external id is not one the emulator answered. */
  unknownExternalIds: number;
  /** WhatsApp: sends the emulator accepted and then failed (131047 window closed, 131026 …). */
  platformFailed: number;
  cpu: Record<string, number>;
  pgActivity: Awaited<ReturnType<ActivitySampler['stop']>>;
}

/** Sends per second over the span of these call times (ms). */
function rateOf(times: number[]): number {
  if (times.length < 2) return NaN;
  return ((times.length - 1) / (times[times.length - 1]! - times[0]!)) * 1000;
}

/** Calls per calendar second, first to last second. */
function perSecond(times: number[]): number[] {
  if (!times.length) return [];
  const first = Math.floor(times[0]! / 1000);
  const out = Array<number>(Math.floor(times[times.length - 1]! / 1000) - first + 1).fill(0);
  for (const t of times) out[Math.floor(t / 1000) - first]!++;
  return out;
}

/** The most calls in one calendar second, and in any sliding 1-second window. */
function peaks(times: number[]): { bucket: number; sliding: number } {
  const buckets = new Map<number, number>();
  for (const t of times) buckets.set(Math.floor(t / 1000), (buckets.get(Math.floor(t / 1000)) ?? 0) + 1);
  let sliding = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    sliding = Math.max(sliding, i - j + 1);
  }
  return { bucket: Math.max(0, ...buckets.values()), sliding };
}

/**
 * P8: outbound sends through the real send job (BullMQ workers in their own processes) to the
 * Meta emulator in this process. Channel A has settings.rateLimitPerSecond; channel B has none;
 * channel W is a WhatsApp number paced at 600/s under the emulator's WhatsApp limits.
 * Messages are committed as `queued` (the outbox) and their jobs enqueued before the workers
 * start, so a phase measures the drain of a full queue. Phases:
 *   1. B alone: the send pipeline's capacity;
 *   2. A and B interleaved (1 A : 3 B), 2,000 messages: B's rate while A is paced, A's peak;
 *   3. A alone with two worker processes (scale-out): A's peak;
 *   4. W alone (WhatsApp, 600/s, 200 recipients round robin): rate, peaks, refusals;
 *   5. W unpaced (the same without rateLimitPerSecond), a contrast: the WhatsApp send path's capacity.
 * Rates and peaks come from the emulator's recorded call times.
 */
export const outboundScenario: Scenario = {
  key: 'p8',
  covers: ['P8'],
  title: 'outbound sends to the Graph emulator (rate-limited + unlimited channel)',
  async run(ctx) {
    const limit = 25;
    const prefix = redisPrefix('p8');
    const database = await freshDatabase(RUN_DB, dbUrl(RUN_DB));
    await database.close();
    const emu: Emulator = await startEmulator({
      pages: [
        { id: PAGE_A, name: 'Shop A (limited)', accessToken: TOKEN_A },
        { id: PAGE_B, name: 'Shop B (unlimited)', accessToken: TOKEN_B },
      ],
      whatsapp: [{ phoneNumberId: WA_PHONE_NUMBER_ID, displayPhoneNumber: WA_DISPLAY_NUMBER, verifiedName: 'Shop W (WhatsApp)', wabaId: WA_WABA_ID, accessToken: WA_TOKEN, templates: [] }],
      people: Array.from({ length: PEOPLE }, (_, i) => ({ id: `p${i}`, name: `Person ${i}` })),
      webhooks: { handshakeOnStart: false, autoDeliver: false, callbackUrl: undefined },
    });
    const env = { META_GRAPH_URL: emu.url, BENCH_REDIS_PREFIX: prefix };
    const deps: Deps = await benchDeps(prefix, env);
    const workers: Child[] = [];
    try {
      const channelA = await addChannel(deps, { name: 'Shop A (limited)', externalId: PAGE_A, token: TOKEN_A, settings: { humanAgent: true, rateLimitPerSecond: limit } });
      const channelB = await addChannel(deps, { name: 'Shop B (unlimited)', externalId: PAGE_B, token: TOKEN_B, settings: { humanAgent: true } });
      const sender = await addEmployee(deps, { name: 'Agent Sender' });
      // Every person wrote to both Pages just now (the 24 h window is open on both sides).
      const chatsOf: Record<Key, number[]> = { A: [], B: [], W: [] };
      for (const [key, page, channelId] of [
        ['A', PAGE_A, channelA],
        ['B', PAGE_B, channelB],
      ] as const) {
        const events = Array.from({ length: PEOPLE }, (_, i) => {
          emu.send(`p${i}`, page, 'Hello, is my phone ready?');
          return inboundEvent({ pageId: page, psid: emu.scopedId(`p${i}`, page), mid: midFor(`p8-${key}`, i), text: textFor(i), at: new Date() });
        });
        const out = await applyChannelEvents(deps, { id: channelId, kind: 'messenger' }, events);
        chatsOf[key] = out.map((o) => o.chatId!);
      }
      // WhatsApp: the limits of a number on the 1,000 mps tier, applied by the emulator.
      emu.setRateLimit({ channelId: WA_PHONE_NUMBER_ID, max: WA_TIER_MPS, windowMs: 1000 });
      emu.setRateLimit({ channelId: WA_PHONE_NUMBER_ID, ...WA_PAIR_BURST, perRecipient: true });
      const channelW = await addChannel(deps, {
        kind: 'whatsapp',
        name: 'Shop W (WhatsApp)',
        externalId: WA_PHONE_NUMBER_ID,
        parentExternalId: WA_WABA_ID,
        token: WA_TOKEN,
        settings: { displayPhoneNumber: '+' + WA_DISPLAY_NUMBER, rateLimitPerSecond: WA_LIMIT },
      });
      // Each recipient wrote first (the 24 h window is open on the emulator's side); Parley
      // ingests the same message, as its own parser reads Meta's payload of it (the contact's
      // external id is the number's digits, the chat's last_inbound_at now).
      const waEvents = Array.from({ length: WA_PEOPLE }, (_, i) => {
        const person = emu.createPerson({ id: `wa${i}`, name: `${nameFor(i)} ${i}`, phone: waIdFor(i) });
        const inbound = emu.send(person.id, WA_PHONE_NUMBER_ID, 'hi');
        const payload = whatsappPayload({
          wabaId: WA_WABA_ID,
          phoneNumberId: WA_PHONE_NUMBER_ID,
          displayPhoneNumber: WA_DISPLAY_NUMBER,
          waId: waIdFor(i),
          name: person.name,
          wamid: inbound.id,
          text: 'hi',
          timestamp: inbound.timestamp,
        });
        return parseWhatsAppWebhook(payload)![0]!.events;
      }).flat();
      await applyChannelEvents(deps, { id: channelW, kind: 'whatsapp' }, waEvents);
      const waChats = await deps.db
        .selectFrom('chats as c')
        .innerJoin('contacts as ct', 'ct.id', 'c.contact_id')
        .select(['c.id', 'ct.external_id', 'c.last_inbound_at'])
        .where('c.channel_id', '=', channelW)
        .execute();
      const chatOfPhone = new Map(waChats.map((c) => [c.external_id, c]));
      chatsOf.W = Array.from({ length: WA_PEOPLE }, (_, i) => {
        const c = chatOfPhone.get(waIdFor(i));
        if (!c?.last_inbound_at || Date.now() - new Date(c.last_inbound_at).getTime() > 3_600_000) {
          throw new Error(`WhatsApp recipient ${waIdFor(i)}: no chat with a recent last_inbound_at (${JSON.stringify(c)})`);
        }
        return c.id;
      });
      const channelOf = { A: channelA, B: channelB, W: channelW };

      const runPhase = async (phase: Phase): Promise<PhaseResult> => {
        await phase.before?.();
        const now = new Date();
        const rows = phase.plan.map((k, i) => ({
          chat_id: chatsOf[k][i % chatsOf[k].length]!,
          channel_id: channelOf[k],
          direction: 'out' as const,
          kind: 'text',
          text: `${textFor(i)} (${phase.name} #${i})`,
          external_id: null,
          sender_employee_id: sender,
          status: 'queued' as const,
          idempotency_key: `bench-p8-${phase.name.replace(/\W+/g, '-')}-${i}`,
          sort_at: now,
          meta: JSON.stringify({ messagingType: 'RESPONSE' }),
        }));
        const ids: number[] = [];
        for (let i = 0; i < rows.length; i += 500) {
          const r = await deps.db
            .insertInto('messages')
            .values(rows.slice(i, i + 500))
            .returning('id')
            .execute();
          ids.push(...r.map((x) => x.id));
        }
        for (let i = 0; i < ids.length; i += 50) {
          await Promise.all(ids.slice(i, i + 50).map((messageId) => deps.queue.enqueue(deps.jobs.sendMessage, { messageId })));
        }
        emu.clearCalls();
        const started = await Promise.all(
          Array.from({ length: phase.workers }, (_, w) =>
            startChild('bench/servers/parley.ts', { name: `p8-parley-worker-${phase.name.replace(/\W+/g, '-')}-${w}`, env: parleyEnv({ ...env, PROCESS_ROLES: 'worker' }) }),
          ),
        );
        workers.push(...started);
        const cpu = CpuMeter.standard(Object.fromEntries(started.map((w, i) => [`worker${phase.workers > 1 ? i + 1 : ''}`, w.pid]))).begin();
        const activity = await new ActivitySampler(RUN_DB).start();
        const t0 = performance.now();
        let done = 0;
        let failed = 0;
        const deadline = t0 + phase.maxS * 1000;
        // BENCH_PROFILE=1: a CPU profile of the worker over the capacity phases.
        const profileName = ({ 'B alone': 'p8-worker', 'W alone': 'p8-worker-whatsapp' } as Record<string, string>)[phase.name];
        const profiling = profileName && process.env.BENCH_PROFILE ? started[0]!.call('profileStart') : undefined;
        while (performance.now() < deadline) {
          const r = await deps.db
            .selectFrom('messages')
            .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>(eb.case().when('status', '=', 'failed').then(1).else(0).end()).as('failed')])
            .where('id', 'in', ids)
            .where('status', '<>', 'queued')
            .executeTakeFirstOrThrow();
          done = Number(r.n);
          failed = Number(r.failed ?? 0);
          if (done >= ids.length) break;
          await sleep(100);
        }
        const drainS = (performance.now() - t0) / 1000;
        if (profiling) {
          await profiling;
          ctx.log(`profile: ${await started[0]!.call<string>('profileStop', { name: profileName })}`);
        }
        const c = cpu.end();
        const pgActivity = await activity.stop();
        const byStatus = await deps.db
          .selectFrom('messages')
          .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
          .where('id', 'in', ids)
          .groupBy('status')
          .execute();
        const statuses = Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)]));
        const stored = await deps.db.selectFrom('messages').select('external_id').where('id', 'in', ids).where('status', 'in', ['sent', 'delivered', 'read']).execute();
        await Promise.all(started.map((w) => w.stop()));
        // Whatever the phase did not send must not leak into the next one (queue or sweeper).
        await (deps.queue as BullQueue).obliterate();
        // Nor its pacing: the send slots reserved for the messages failed just below (queued
        // sends reserve their channel's slots ahead) would hold back the next phase's sends.
        await deleteRedisPrefix(`${prefix}:rate`);
        await deps.db.updateTable('messages').set({ status: 'failed', status_reason: 'bench: phase ended before it was sent' }).where('id', 'in', ids).where('status', '=', 'queued').execute();
        const calls = emu.calls({ method: 'POST', pathIncludes: '/messages' });
        const ok = calls.filter((x: RecordedCall) => x.status === 200);
        // The Parley id each send carries: Messenger `message.metadata`, WhatsApp `biz_opaque_callback_data` ("parley:<id>").
        const metadata = ok.map((x) => {
          const b = x.body as { message?: { metadata?: string }; biz_opaque_callback_data?: string };
          return String(b?.message?.metadata ?? b?.biz_opaque_callback_data ?? '');
        });
        // The platform's id of each accepted send: Messenger `message_id`, WhatsApp `messages[0].id` (wamid).
        const answered = ok.map((x) => {
          const r = x.response as { message_id?: string; messages?: Array<{ id?: string }> };
          return String(r?.message_id ?? r?.messages?.[0]?.id ?? '');
        });
        const answeredSet = new Set(answered);
        const refusedBy: Record<string, number> = {};
        for (const x of calls) {
          if (x.status === 200) continue;
          const code = String((x.response as { error?: { code?: number } })?.error?.code ?? x.status);
          refusedBy[code] = (refusedBy[code] ?? 0) + 1;
        }
        const of = (page: string) =>
          ok
            .filter((x) => x.path.includes(page))
            .map((x) => x.at)
            .sort((a, b) => a - b);
        // The emulator's outcome of each accepted WhatsApp send (it fails some later, async).
        const platformFailed = ok.some((x) => x.path.includes(WA_PHONE_NUMBER_ID))
          ? emu
              .threads({ channel: WA_PHONE_NUMBER_ID })
              .flatMap((t) => t.messages)
              .filter((m) => m.direction === 'out' && m.status === 'failed' && answeredSet.has(m.id)).length
          : 0;
        return {
          name: phase.name,
          workers: phase.workers,
          messages: ids.length,
          drainS,
          done,
          failed,
          calls: { A: of(PAGE_A), B: of(PAGE_B), W: of(WA_PHONE_NUMBER_ID) },
          refused: calls.length - ok.length,
          refusedBy,
          duplicates: metadata.length - new Set(metadata).size,
          duplicateExternalIds: answered.length - answeredSet.size + (stored.length - new Set(stored.map((r) => r.external_id)).size),
          statuses,
          unknownExternalIds: stored.filter((r) => !r.external_id || !answeredSet.has(r.external_id)).length,
          platformFailed,
          cpu: c,
          pgActivity,
        };
      };

      const quick = ctx.quick;
      const phases: Phase[] = [
        { name: 'B alone', plan: Array(quick ? 600 : 1000).fill('B'), workers: 1, maxS: quick ? 8 : 12 },
        { name: 'A alone', plan: Array(limit * 6).fill('A'), workers: 1, maxS: quick ? 6 : 8 },
        { name: 'A+B mixed', plan: Array.from({ length: 2000 }, (_, i) => (i % 4 === 0 ? 'A' : 'B')), workers: 1, maxS: quick ? 10 : 15 },
        { name: 'A, 2 workers', plan: Array(limit * 8).fill('A'), workers: 2, maxS: quick ? 6 : 8 },
        { name: 'W alone', plan: Array(quick ? 3000 : 6000).fill('W'), workers: 1, maxS: quick ? 20 : 40 },
        // Contrast: the same WhatsApp sends without Parley's pacing (the emulator's limits stay).
        {
          name: 'W unpaced',
          plan: Array(quick ? 3000 : 6000).fill('W'),
          workers: 1,
          maxS: quick ? 20 : 40,
          before: async () => {
            await deps.db
              .updateTable('channels')
              .set({ settings: JSON.stringify({ displayPhoneNumber: '+' + WA_DISPLAY_NUMBER }) })
              .where('id', '=', channelW)
              .execute();
          },
        },
      ];
      const results: PhaseResult[] = [];
      for (const p of phases) {
        const r = await runPhase(p);
        results.push(r);
        const a = peaks(r.calls.A);
        ctx.log(
          `${r.name} (${r.messages} queued, ${r.workers} worker process${r.workers > 1 ? 'es' : ''}, BullMQ concurrency 16 each): ${r.done}/${r.messages} sent in ${r.drainS.toFixed(1)} s` +
            `${r.failed ? `, ${r.failed} failed` : ''}; sends: A ${r.calls.A.length}${r.calls.A.length ? ` (${rateOf(r.calls.A).toFixed(0)}/s, peak ${a.bucket} in a calendar second, ${a.sliding} in a sliding second)` : ''}, ` +
            `B ${r.calls.B.length}${r.calls.B.length ? ` (${rateOf(r.calls.B).toFixed(0)}/s)` : ''}` +
            `${r.calls.W.length ? `, W ${r.calls.W.length} (${rateOf(r.calls.W).toFixed(0)}/s, peak ${peaks(r.calls.W).bucket} in a calendar second, ${peaks(r.calls.W).sliding} in a sliding second)` : ''}` +
            `; refused ${r.refused}${
              r.refused
                ? ` (${Object.entries(r.refusedBy)
                    .map(([k, n]) => `${k}×${n}`)
                    .join(' ')})`
                : ''
            }, duplicate sends ${r.duplicates}`,
        );
        if (r.calls.W.length)
          ctx.log(`  W sends per calendar second: ${perSecond(r.calls.W).join(', ')}${r.platformFailed ? `; ${r.platformFailed} failed afterwards on the emulator (status webhook)` : ''}`);
        ctx.log(`  ${cpuLine(r.cpu)}`);
        if (r.name === 'B alone' || r.name === 'W alone') for (const l of activityLines(r.pgActivity)) ctx.log(`  PostgreSQL ${l}`);
      }
      const [alone, soloA, mixed, scaled, wa, waFree] = results as [PhaseResult, PhaseResult, PhaseResult, PhaseResult, PhaseResult, PhaseResult];
      const oneA = peaks([...soloA.calls.A]);
      const mixA = peaks(mixed.calls.A);
      const twoA = peaks(scaled.calls.A);
      const bMixed = rateOf(mixed.calls.B);
      const allMixed = [...mixed.calls.A, ...mixed.calls.B].sort((x, y) => x - y);
      const checks: Check[] = [
        { id: 'P8', what: 'send capacity, unlimited channel alone', value: `${rateOf(alone.calls.B).toFixed(0)} sends/s`, target: '≥ 500/s', pass: rateOf(alone.calls.B) >= 500 && alone.failed === 0 },
        {
          id: 'P8',
          what: `unlimited channel while A is paced at ${limit}/s`,
          value: `${bMixed.toFixed(0)} sends/s (overall ${rateOf(allMixed).toFixed(0)}/s)`,
          target: '≥ 500/s',
          pass: bMixed >= 500 && mixed.failed === 0,
        },
        {
          id: 'P8',
          what: `rate-limited channel A (${limit}/s), 1 worker`,
          value: `peak ${Math.max(oneA.bucket, mixA.bucket)}/calendar s (${Math.max(oneA.sliding, mixA.sliding)}/sliding s)`,
          target: `≤ ${limit} per second`,
          pass: Math.max(oneA.bucket, mixA.bucket) <= limit,
        },
        {
          id: 'P8',
          what: `rate-limited channel A (${limit}/s), 2 workers`,
          value: `peak ${twoA.bucket}/calendar s (${twoA.sliding}/sliding s)`,
          target: `≤ ${limit} per second`,
          pass: twoA.bucket <= limit,
        },
        {
          id: 'P8',
          what: 'each message sent once',
          value: `${results.reduce((n, r) => n + r.duplicates, 0)} duplicates, ${results.reduce((n, r) => n + r.failed, 0)} failed, ${results.reduce((n, r) => n + r.messages - r.done, 0)} not sent in time`,
          target: 'no duplicate, none failed',
          pass: results.every((r) => r.duplicates === 0 && r.failed === 0),
        },
      ];
      const waRate = rateOf(wa.calls.W);
      const waPeak = peaks(wa.calls.W);
      const waDone = (wa.statuses.sent ?? 0) + (wa.statuses.delivered ?? 0);
      const waFreeRate = rateOf(waFree.calls.W);
      const bRate = rateOf(alone.calls.B);
      const waWrong = wa.duplicates + wa.duplicateExternalIds + wa.unknownExternalIds;
      checks.push(
        {
          id: 'P8',
          what: `WhatsApp sends, channel paced at ${WA_LIMIT}/s`,
          value: `${Number.isFinite(waRate) ? waRate.toFixed(0) : 0} sends/s (${(waRate / bRate).toFixed(2)}× unlimited Messenger)`,
          target: '≥ 500/s',
          pass: waRate >= 500,
        },
        {
          id: 'P8',
          what: 'WhatsApp sends, unpaced (contrast)',
          value: `${Number.isFinite(waFreeRate) ? waFreeRate.toFixed(0) : 0} sends/s (${(waFreeRate / bRate).toFixed(2)}× unlimited Messenger)`,
          target: '-',
          pass: null,
        },
        {
          id: 'P8',
          what: `WhatsApp peak per second (limit ${WA_LIMIT}/s)`,
          value: `${waPeak.bucket}/calendar s, ${waPeak.sliding}/sliding s`,
          target: `≤ ${WA_LIMIT} in any second`,
          pass: wa.calls.W.length > 0 && waPeak.bucket <= WA_LIMIT && waPeak.sliding <= WA_LIMIT,
        },
        {
          id: 'P8',
          what: 'WhatsApp refusals (130429 tier, 131056 pair)',
          value: `${wa.refused} refused${
            wa.refused
              ? ` (${Object.entries(wa.refusedBy)
                  .map(([k, n]) => `${k}×${n}`)
                  .join(' ')})`
              : ''
          }`,
          target: '0',
          pass: wa.refused === 0,
        },
        {
          id: 'P8',
          what: 'WhatsApp each message sent once',
          value: `${wa.duplicates} parley:<id> twice, ${wa.duplicateExternalIds} wamids twice, ${wa.unknownExternalIds} unknown wamids`,
          target: '0 duplicates',
          pass: wa.calls.W.length > 0 && waWrong === 0,
        },
        {
          id: 'P8',
          what: 'WhatsApp messages sent/delivered in the DB',
          value: `${waDone.toLocaleString('en-US')} / ${wa.messages.toLocaleString('en-US')} (${Object.entries(wa.statuses)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')}; ${wa.platformFailed} failed at Meta)`,
          target: 'all, none failed at Meta',
          pass: waDone === wa.messages && wa.platformFailed === 0,
        },
      );
      const notes: string[] = [];
      if (bMixed < rateOf(alone.calls.B) * 0.6) {
        notes.push(
          `Head-of-line blocking: channel B (no limit) falls from ${rateOf(alone.calls.B).toFixed(0)}/s alone to ${bMixed.toFixed(0)}/s while A is paced. Paced sends are meant to wait in the deferred queue (DeferJob), not in the worker's slots: check that A's jobs defer instead of sleeping.`,
        );
      }
      if (twoA.bucket > limit) {
        notes.push(`With 2 workers channel A peaked at ${twoA.bucket} sends in one second (limit ${limit}): the pacing is not shared across processes (is the limiter's Redis connection there?).`);
      }
      const slidingPeak = Math.max(oneA.sliding, mixA.sliding, twoA.sliding);
      if (slidingPeak > limit) {
        notes.push(
          `${slidingPeak} calls of channel A fell within one sliding second (limit ${limit}): the emulator records call times on its own event loop (this process), so a busy bench can bunch them; the limiter spaces slots ${((1000 / limit) * 1.05).toFixed(0)} ms apart and gives up a slot it reaches more than 20 ms late.`,
        );
      }
      if (alone.done < alone.messages || rateOf(alone.calls.B) < 500) {
        const w = alone.pgActivity.topWaits[0];
        notes.push(
          `The send job is slow: ${rateOf(alone.calls.B).toFixed(0)} sends/s with the worker at ${Object.values(alone.cpu)[0]}% CPU${w ? ` (PostgreSQL samples: ${w[1]} backends on average in ${w[0].slice(0, 60)}…)` : ''}. A send is one read and one statement (the message as sent with its live events, under the live events' advisory lock).`,
        );
      }
      if (waRate < 500) {
        // rate-limiter.ts spaces a channel's slots by whole milliseconds: ceil(1000 / limit × 1.05).
        const spacing = Math.ceil((1000 / WA_LIMIT) * 1.05);
        const w = wa.pgActivity.topWaits[0];
        notes.push(
          `WhatsApp at ${waRate.toFixed(0)} sends/s paced at ${WA_LIMIT}/s (target ≥ 500/s), ${waFreeRate.toFixed(0)}/s unpaced, unlimited Messenger ${bRate.toFixed(0)}/s; ` +
            `worker at ${Object.values(wa.cpu)[0]}% CPU${w ? `, PostgreSQL samples: ${w[1]} backends on average in ${w[0].slice(0, 60)}…` : ''}. ` +
            `Two ceilings: the send pipeline's capacity (the unpaced figure), and the pacing itself: a ${WA_LIMIT}/s limit gets slots ${spacing} ms apart ` +
            `(rate-limiter.ts spacingOf rounds 1000/${WA_LIMIT} × 1.05 up to whole milliseconds), so at most ${Math.floor(1000 / spacing)} sends/s, ` +
            `${Math.round((1 - 1000 / spacing / WA_LIMIT) * 100)} % under the configured limit; the busiest calendar second had ${waPeak.bucket}.`,
        );
      }
      return {
        checks,
        figures: {
          limit,
          whatsapp: { limit: WA_LIMIT, tierMps: WA_TIER_MPS, pairBurst: WA_PAIR_BURST, recipients: WA_PEOPLE },
          phases: results.map((r) => ({ ...r, rateA: rateOf(r.calls.A), rateB: rateOf(r.calls.B), rateW: rateOf(r.calls.W), peaksA: peaks(r.calls.A), peaksW: peaks(r.calls.W), calls: undefined })),
        },
        notes,
      };
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await deps.close();
      await emu.close();
      await deleteRedisPrefix(prefix);
    }
  },
};
