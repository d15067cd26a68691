import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatView } from '../../src/chats/chats.view.ts';
import { chatHelpers } from '../../src/chats/chats.view.ts';
import type { MessageView } from '../../src/chats/chats.view.ts';
import { translator, LOCALES } from '../../src/platform/i18n/index.ts';
import type { Viewer } from '../../src/platform/live/hub.ts';
import type { LiveEventRow } from '../../src/platform/live/live.repository.ts';
import { renderPartial } from '../../src/platform/views.ts';
import { createTestDeps, type TestContext } from '../helpers.ts';
import { until } from '../platform/support.ts';
import { asBrowserSees, parseEventStream } from '../platform/event-stream-parser.ts';

/**
 * S11: no byte of user text can add an SSE field. Arbitrary strings (with CR, LF, CRLF, U+2028,
 * NUL, lone surrogates and `id:`/`event:`/`retry:` fragments) go into every kind of live event
 * the app emits: `ui` events rendered by the real partials from the fields customers and
 * colleagues write (message text, comments, notes, sender and contact names, previews, channel
 * and assignee names), and JSON-data events. They travel the production path of a web process
 * (the bus → the hub's catch-up → its audience check → its frame builder → the response), and
 * the bytes written are parsed back by a spec-conformant EventSource parser: exactly the events
 * sent come out, with their ids, names and data (line ends as a browser reports them: LF),
 * and no `retry` besides the stream's own, no other field.
 *
 * `npm run fuzz` runs it with FUZZ_RUNS=300.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

/** A response the hub writes to, keeping the bytes as Node would send them (UTF-8). */
class CapturedResponse extends EventEmitter {
  destroyed = false;
  writableLength = 0;
  private readonly chunks: Buffer[] = [];
  writeHead() {
    return this;
  }
  write(chunk: string) {
    this.chunks.push(Buffer.from(chunk, 'utf8'));
    return true;
  }
  end() {
    this.destroyed = true;
    this.emit('close');
  }
  take(): Buffer {
    const all = Buffer.concat(this.chunks);
    this.chunks.length = 0;
    return all;
  }
}

const hostileToken = fc.constantFrom(
  '\r',
  '\n',
  '\r\n',
  '\n\r',
  '\r\r',
  '\u2028',
  '\u2029',
  '\u0085',
  '\u0000',
  '\ufeff',
  'id:',
  'id: 999999999',
  'event:',
  'event: reload',
  'retry:',
  'retry: 999999',
  'data:',
  ':',
  ' ',
  '\rid: 999999\r',
  '\revent: reload\rdata: {}\r\r',
  '\r\rretry: 1\r\r',
  '\ud800',
  '\udfff',
);
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const hostile = fc
  .array(fc.oneof({ weight: 3, arbitrary: hostileToken }, { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) }, loneSurrogate), {
    maxLength: 12,
  })
  .map((parts) => parts.join(''));

const CHANNEL = 1;
const at = new Date('2025-03-01T10:00:00Z');

function chatView(s: string[]): ChatView {
  return {
    id: 42,
    channelId: CHANNEL,
    contactId: 7,
    status: 'open',
    indicator: 'unread',
    name: s[0]!,
    username: s[1]!,
    hidden: false,
    avatarUrl: null,
    channelKind: 'whatsapp',
    channelName: s[2]!,
    channelSettings: {} as ChatView['channelSettings'],
    previewKind: 'text',
    previewText: s[3]!,
    lastMessageAt: at,
    lastInboundAt: at,
    archivedAt: null,
    archivedByName: s[4]!,
    clientId: null,
    phone: s[5]!,
    readUpTo: null,
    threadVersion: 1,
    assigneeId: 3,
    assigneeName: s[6]!,
  };
}

function messageView(id: number, kind: string, direction: MessageView['direction'], text: string, sender: string, meta: Record<string, unknown> = {}): MessageView {
  return {
    id,
    direction,
    kind,
    text,
    status: direction === 'out' ? 'sent' : 'received',
    statusReason: null,
    senderName: sender,
    at,
    readAt: null,
    deleted: false,
    reactions: [],
    attachments: [],
    meta,
    showReadAt: false,
  };
}

/** Every `ui` fragment kind the app pushes (chats.live.ts, client-link.service.ts), from user text. */
function uiBodies(s: string[], locale: (typeof LOCALES)[number], eta: TestContext['deps']['eta']): string[] {
  const h = chatHelpers(translator(locale));
  const chat = chatView(s);
  const chatId = chat.id;
  const messages = [
    messageView(9001, 'text', 'in', s[7]!, s[0]!),
    messageView(9002, 'text', 'out', s[8]!, s[9]!),
    messageView(9003, 'comment', 'in', s[10]!, s[0]!, { post: { text: s[11]! } }),
    messageView(9004, 'note', 'internal', s[12]!, s[9]!, { mentions: [] }),
  ];
  return [
    `<div hx-swap-oob="afterbegin:#chat-list-open">${renderPartial(eta, '/chats/inbox/_chat_item', locale, { chat, h })}</div>`,
    renderPartial(eta, '/chats/inbox/_chat_item', locale, { chat, h, oob: true }),
    `<div hx-swap-oob="beforeend:#thread-messages-${chatId}">${messages.map((message) => renderPartial(eta, '/chats/thread/_message', locale, { message, chatId, h, live: true })).join('')}</div>`,
    ...messages.map((message) => renderPartial(eta, '/chats/thread/_message', locale, { message, chatId, h, oob: true })),
    renderPartial(eta, '/chats/thread/_header', locale, { chat, h, oob: true }),
    renderPartial(eta, '/chats/clients/_client_panel', locale, { chat, clientPanel: null, oob: true, by: 3 }),
    // Raw user text as a whole event body, nothing around it.
    s[13]!,
  ];
}

describe('SSE framing (S11): no byte of user text adds a field', () => {
  let t: TestContext;
  let res: CapturedResponse;
  let opening: Buffer;
  const viewer: Viewer = { employeeId: 3, isAdmin: true, canChats: true, channelIds: new Set([CHANNEL]), locale: 'en' };

  beforeAll(async () => {
    t = await createTestDeps();
    await t.deps.live.start();
    res = new CapturedResponse();
    await t.deps.live.connect(res as unknown as ServerResponse, viewer, null, 'en');
    opening = res.take();
    // With Redis the hub subscribes in the background: until it has, a notification is lost
    // (in production the next one makes it read the gap from the database, which these rows,
    // published without a database, are not in). Wait until one gets through.
    await until(async () => {
      const id = t.deps.live.lastEventId + 1;
      await t.deps.bus.publish('live', JSON.stringify({ id, audience: 'all', employee_id: null, channel_id: null, name: 'ping', html: '', data: {}, locale: null }));
      await new Promise((r) => setTimeout(r, 20));
      return t.deps.live.lastEventId >= id;
    }, 'the hub to be subscribed');
    await t.deps.live.settle();
    res.take();
  });
  afterAll(async () => t?.close());

  /** Publishes rows as a committed transaction's events reach every web process, and waits for them. */
  async function publish(events: Array<Omit<LiveEventRow, 'id'>>): Promise<LiveEventRow[]> {
    const rows: LiveEventRow[] = [];
    let id = t.deps.live.lastEventId;
    for (const e of events) rows.push({ ...e, id: ++id });
    for (const r of rows) await t.deps.bus.publish('live', JSON.stringify(r));
    await until(() => t.deps.live.lastEventId >= id, 'the hub to dispatch the events');
    await t.deps.live.settle();
    return rows;
  }

  it('the stream opens with its own retry hint only', () => {
    const parsed = parseEventStream(opening);
    expect(parsed.retries).toEqual([2000]);
    expect(parsed.events).toEqual([]);
  });

  it(
    'parses back to exactly the events sent, for every event kind, whatever the text',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(hostile, { minLength: 14, maxLength: 14 }), fc.constantFrom(...LOCALES), async (s, locale) => {
          viewer.locale = locale;
          const base = { audience: 'channel' as const, employee_id: null, channel_id: CHANNEL, data: null, locale };
          const sent = await publish([
            ...uiBodies(s, locale, t.deps.eta).map((html) => ({ ...base, name: 'ui', html })),
            { ...base, audience: 'employee', employee_id: viewer.employeeId, channel_id: null, locale: null, name: 'red-dot', html: '', data: { on: true } },
            { ...base, name: 'ping', html: '', data: { m: s[0], n: s.slice(1, 4) } },
          ]);
          const parsed = parseEventStream(res.take());
          const expected = sent.map((r) => ({
            type: r.name,
            data: asBrowserSees(r.name === 'ui' ? r.html : JSON.stringify(r.data)),
            lastEventId: String(r.id),
          }));
          expect(parsed.events).toEqual(expected);
          expect(parsed.retries).toEqual([]);
          expect(parsed.unknownFields).toEqual([]);
          expect(parsed.lastEventId).toBe(String(sent.at(-1)!.id));
        }),
        { numRuns: RUNS },
      );
    },
    Math.max(30_000, RUNS * 150),
  );
});
