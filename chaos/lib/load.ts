import { randomBytes } from 'node:crypto';
import { messengerPayload, signedWebhook, textFor, wamidFor, whatsappPayload } from '../../bench/lib/meta.ts';
import { sleep } from '../../bench/lib/stats.ts';

/**
 * The steady load of a scenario, spoken over HTTP like the real senders: Meta's webhook
 * deliveries (signed, batched, repeated, retried until answered 200) and employees' composer
 * submits (session cookie + CSRF token, a double submit now and then, resubmitted when no
 * answer came). Every item is remembered so the figures can be read back from the database
 * and the emulator's record.
 */

export interface Person {
  psid: string;
  igsid: string;
  waId: string;
  name: string;
}

export interface Accounts {
  pageId: string;
  igId: string;
  phoneNumberId: string;
  wabaId: string;
  displayNumber: string;
}

export type Kind = 'messenger' | 'instagram' | 'whatsapp';
const KINDS: Kind[] = ['messenger', 'instagram', 'whatsapp'];

export interface InboundItem {
  id: string;
  kind: Kind;
  firstAt: number;
  ackedAt?: number;
}

/** Round robin over the web processes that should be up (a load balancer's view). */
export type Ports = () => number[];

/** One POST until a 200 (Meta: an answer within 5 s, retries with backoff). */
async function postUntilOk(ports: Ports, path: string, init: () => RequestInit, stop: () => boolean, onAnswer?: (status: number) => boolean): Promise<number | null> {
  for (let attempt = 0; ; attempt++) {
    const list = ports();
    const port = list[(attempt + Math.floor(Math.random() * list.length)) % list.length]!;
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { ...init(), redirect: 'manual', signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer().catch(() => undefined);
      if (onAnswer ? onAnswer(res.status) : res.status === 200) return res.status;
    } catch {
      /* no answer: connection refused or reset, timeout */
    }
    if (stop()) return null;
    await sleep(Math.min(250 * 2 ** attempt, 2000));
  }
}

/**
 * A load that issues one unit of work every 1/rate s (`tick`) until stopped, and remembers
 * the requests still retrying so a scenario can wait for them (bounded).
 */
abstract class SteadyLoad {
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  /** Set once the scenario stops waiting: requests still unanswered give up. */
  protected abandon = false;

  protected abstract tick(): void;

  /** `rate` units a second until stop(). */
  start(rate: number) {
    this.timer = setInterval(() => this.tick(), 1000 / rate);
  }

  stop() {
    clearInterval(this.timer);
  }

  /** Waits for every request to be answered (senders keep retrying), or gives up at the deadline. */
  async settle(deadline: number) {
    while (this.inflight.size && Date.now() < deadline) await sleep(100);
    this.abandon = true;
  }

  protected track(p: Promise<unknown>) {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }
}

export class InboundLoad extends SteadyLoad {
  readonly items = new Map<string, InboundItem>();
  posts = 0;
  repeats = 0;
  private n = 0;

  constructor(private readonly o: { ports: Ports; secret: string; tag: string; people: Person[]; accounts: Accounts }) {
    super();
  }

  private message(kind: Kind, n: number) {
    const { people, accounts: a, tag } = this.o;
    const p = people[n % people.length]!;
    const text = `${textFor(n)} [ci-${tag}-${n}]`;
    const ts = Date.now();
    if (kind === 'whatsapp') {
      const wamid = wamidFor(`chaos-${tag}`, n, p.waId);
      return { id: wamid, payload: whatsappPayload({ wabaId: a.wabaId, phoneNumberId: a.phoneNumberId, displayPhoneNumber: a.displayNumber, waId: p.waId, name: p.name, wamid, text, timestamp: ts }) };
    }
    const mid = `m_chaos-${tag}-${n}-${randomBytes(8).toString('hex')}`;
    const instagram = kind === 'instagram';
    return {
      id: mid,
      payload: messengerPayload({ object: instagram ? 'instagram' : 'page', pageId: instagram ? a.igId : a.pageId, psid: instagram ? p.igsid : p.psid, mid, text, timestamp: ts }),
    };
  }

  protected tick() {
    const post = this.posts++;
    const kind = KINDS[post % 3]!;
    // One POST in five is a batch of three updates (Meta batches what happens together).
    const count = post % 5 === 4 ? 3 : 1;
    const messages = Array.from({ length: count }, () => this.message(kind, this.n++));
    const entries = messages.flatMap((m) => m.payload.entry as unknown[]);
    // 10 % of deliveries come again: the same POST twice at once, again 1.5 s later, or the
    // same update twice inside one batch.
    const repeat = post % 30;
    if (repeat === 20) entries.push(entries[0]);
    const body = { object: messages[0]!.payload.object, entry: entries };
    const now = Date.now();
    for (const m of messages) this.items.set(m.id, { id: m.id, kind, firstAt: now });
    const signed = signedWebhook(body, this.o.secret);
    const send = () =>
      this.track(
        postUntilOk(
          this.o.ports,
          '/webhooks/meta',
          () => ({ method: 'POST', body: new Uint8Array(signed.body), headers: signed.headers }),
          () => this.abandon,
        ).then((status) => {
          if (status !== 200) return;
          const at = Date.now();
          for (const m of messages) {
            const item = this.items.get(m.id)!;
            item.ackedAt ??= at;
          }
        }),
      );
    send();
    if (repeat === 0) {
      this.repeats++;
      send();
    } else if (repeat === 10) {
      this.repeats++;
      setTimeout(send, 1500);
    } else if (repeat === 20) this.repeats++;
  }
}

export interface Session {
  cookie: string;
  csrf: string;
}

export interface SendItem {
  key: string;
  marker: string;
  chatId: number;
  firstAt: number;
  acceptedAt?: number;
  refused?: number;
}

/** Logs in through the real forms: GET /login (CSRF cookie), POST /login, then a page's token. */
export async function logIn(port: number, email: string, password: string): Promise<Session> {
  const base = `http://127.0.0.1:${port}`;
  const page = await fetch(`${base}/login`, { redirect: 'manual' });
  const pre = cookieOf(page, 'parley_csrf');
  const formCsrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!pre || !formCsrf) throw new Error('login page without a CSRF cookie/field');
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `parley_csrf=${pre}` },
    body: new URLSearchParams({ email, password, _csrf: formCsrf, next: '/chats' }).toString(),
  });
  await res.arrayBuffer();
  const session = cookieOf(res, 'parley_session');
  if (res.status !== 303 || !session) throw new Error(`login as ${email} answered ${res.status}`);
  const cookie = `parley_session=${session}`;
  const chats = await fetch(`${base}/chats`, { headers: { cookie } });
  const csrf = /"X-CSRF-Token": "([^"]+)"/.exec(await chats.text())?.[1];
  if (!csrf) throw new Error('the Chats page carries no CSRF token');
  return { cookie, csrf };
}

function cookieOf(res: Response, name: string): string | undefined {
  for (const c of res.headers.getSetCookie()) {
    const m = new RegExp(`^${name}=([^;]*)`).exec(c);
    if (m) return m[1];
  }
  return undefined;
}

export class ComposerLoad extends SteadyLoad {
  readonly items = new Map<string, SendItem>();
  doubles = 0;
  private n = 0;

  constructor(private readonly o: { ports: Ports; session: Session; chats: number[]; tag: string }) {
    super();
  }

  protected tick() {
    const n = this.n++;
    const chatId = this.o.chats[n % this.o.chats.length]!;
    const key = randomBytes(12).toString('base64url');
    const marker = `[cx-${this.o.tag}-${n}]`;
    const item: SendItem = { key, marker, chatId, firstAt: Date.now() };
    this.items.set(key, item);
    const form = new URLSearchParams({ text: `Your repair is ready, see you soon ✔ ${marker}`, idempotency_key: key, _csrf: this.o.session.csrf }).toString();
    const submit = () => {
      const p = postUntilOk(
        this.o.ports,
        `/chats/${chatId}/messages`,
        () => ({ method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.o.session.cookie } }),
        () => this.abandon,
        // 303 = accepted (the form's redirect); a 4xx is an answer too (refused); 5xx/none: resubmit.
        (status) => status < 500,
      ).then((status) => {
        if (status === null) return;
        if (status === 303 || status === 200) item.acceptedAt ??= Date.now();
        else item.refused = status;
      });
      this.track(p);
    };
    submit();
    // A double-clicked Send: the same form (same idempotency key) twice at once.
    if (n % 10 === 3) {
      this.doubles++;
      submit();
    }
  }
}
