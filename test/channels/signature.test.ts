// S1 and meta-platform.md §10.1: X-Hub-Signature-256 over the raw bytes.
// A property test of verifyMetaSignature (≥ 10,000 runs per property) and an HTTP-level test
// that a refused signature answers 401 and stores nothing in webhook_inbox.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { verifyMetaSignature } from '../../src/channels/meta/signature.ts';
import { metaWebhookRoutes } from '../../src/channels/meta/webhook.routes.ts';
import { metaJsonStringify, signBody } from '../../emulator/index.ts';
import { createTestApp, type TestApp } from '../helpers.ts';

const RUNS = 10_000;

/** Bodies as Meta sends them (escaped unicode, `\/`), arbitrary UTF-8 text, and raw bytes. */
const metaBody = fc
  .record({
    object: fc.constantFrom('page', 'instagram', 'whatsapp_business_account'),
    entry: fc.array(
      fc.record({
        id: fc.stringMatching(/^\d{5,17}$/),
        time: fc.nat(),
        text: fc.string({ unit: 'binary', maxLength: 80 }),
        extra: fc.constantFrom('Здравствуйте 👋', 'مرحبا', 'https://scontent.example-cdn.net/v/a.jpg?oe=1', 'a/b\\c"d', '\u0436\u2028\u00e9', ''),
      }),
      { maxLength: 4 },
    ),
    anything: fc.jsonValue({ maxDepth: 2 }),
  })
  .map((o) => Buffer.from(metaJsonStringify(o), 'utf8'));
const utf8Body = fc.string({ unit: 'binary', maxLength: 300 }).map((s) => Buffer.from(s, 'utf8'));
const byteBody = fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a));
const anyBody = fc.oneof(metaBody, utf8Body, byteBody);
const secret = fc.oneof(fc.constant('emulator-app-secret'), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 64 }));

const sign = (raw: Buffer, key: string) => 'sha256=' + createHmac('sha256', key).update(raw).digest('hex');

function flipBit(buf: Buffer, bit: number): Buffer {
  const copy = Buffer.from(buf);
  const i = Math.floor(bit / 8) % copy.length;
  copy[i] = copy[i]! ^ (1 << (bit % 8));
  return copy;
}

describe('verifyMetaSignature (property, S1)', () => {
  it('a correct sha256= header verifies, for any body and secret', () => {
    fc.assert(
      fc.property(anyBody, secret, (raw, key) => {
        expect(verifyMetaSignature(raw, sign(raw, key), key)).toBe(true);
        // The emulator's signer is the same function of the same bytes.
        expect(verifyMetaSignature(raw, signBody(raw, key), key)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('any flipped bit in the body fails', () => {
    fc.assert(
      fc.property(
        anyBody.filter((b) => b.length > 0),
        secret,
        fc.nat(),
        (raw, key, bit) => {
          const header = sign(raw, key);
          expect(verifyMetaSignature(flipBit(raw, bit), header, key)).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('any flipped bit in the header fails', () => {
    fc.assert(
      fc.property(anyBody, secret, fc.nat(), (raw, key, bit) => {
        const header = Buffer.from(sign(raw, key), 'latin1');
        expect(verifyMetaSignature(raw, flipBit(header, bit).toString('latin1'), key)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('truncated or extended hex fails', () => {
    fc.assert(
      fc.property(anyBody, secret, fc.integer({ min: 1, max: 64 }), fc.stringMatching(/^[0-9a-f]{1,64}$/), (raw, key, cut, more) => {
        const header = sign(raw, key);
        expect(verifyMetaSignature(raw, header.slice(0, header.length - cut), key)).toBe(false);
        expect(verifyMetaSignature(raw, header + more, key)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('uppercase hex, another casing of the prefix, padding or a second header fail', () => {
    fc.assert(
      fc.property(anyBody, secret, (raw, key) => {
        const header = sign(raw, key);
        const hex = header.slice(7);
        if (/[a-f]/.test(hex)) expect(verifyMetaSignature(raw, 'sha256=' + hex.toUpperCase(), key)).toBe(false);
        expect(verifyMetaSignature(raw, 'SHA256=' + hex, key)).toBe(false);
        expect(verifyMetaSignature(raw, ` ${header}`, key)).toBe(false);
        expect(verifyMetaSignature(raw, `${header} `, key)).toBe(false);
        expect(verifyMetaSignature(raw, [header, header], key)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('sha1= only, a missing or empty header, or the wrong secret fail', () => {
    fc.assert(
      fc.property(anyBody, secret, secret, (raw, key, other) => {
        const sha1 = 'sha1=' + createHmac('sha1', key).update(raw).digest('hex');
        expect(verifyMetaSignature(raw, sha1, key)).toBe(false);
        expect(verifyMetaSignature(raw, undefined, key)).toBe(false);
        expect(verifyMetaSignature(raw, '', key)).toBe(false);
        expect(verifyMetaSignature(raw, 'sha256=', key)).toBe(false);
        if (other !== key) expect(verifyMetaSignature(raw, sign(raw, other), key)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('a signature of the re-serialised body fails whenever the bytes differ (§1.2)', () => {
    fc.assert(
      fc.property(metaBody, secret, (raw, key) => {
        const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))), 'utf8');
        fc.pre(!reserialised.equals(raw));
        expect(verifyMetaSignature(raw, sign(reserialised, key), key)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('escaped Cyrillic + emoji + \\/ verifies against the raw bytes only (§10.1)', () => {
    const body = metaJsonStringify({ object: 'page', entry: [{ id: '1', messaging: [{ message: { text: 'Жду 🙂 https://x.example/a' } }] }] });
    expect(body).toContain('\\u0416');
    expect(body).toContain('\\ud83d\\ude42');
    expect(body).toContain('https:\\/\\/x.example\\/a');
    const raw = Buffer.from(body);
    expect(verifyMetaSignature(raw, sign(raw, 's3cret'), 's3cret')).toBe(true);
    const plain = Buffer.from(JSON.stringify(JSON.parse(body)));
    expect(verifyMetaSignature(raw, sign(plain, 's3cret'), 's3cret')).toBe(false);
  });
});

describe('POST /webhooks/meta with a bad signature (HTTP, S1)', () => {
  const SECRET = 'http-level-app-secret';
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { META_APP_SECRET: SECRET, META_VERIFY_TOKEN: 'vt' } });
  });
  afterAll(async () => t?.close());

  const inboxCount = async () =>
    Number(
      (
        await t.deps.db
          .selectFrom('webhook_inbox')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  type Tamper = (raw: Buffer, header: string, n: number) => { raw: Buffer; header?: string | undefined };
  const tampers: Record<string, Tamper> = {
    bodyBit: (raw, header, n) => ({ raw: raw.length ? flipBit(raw, n) : Buffer.from('x'), header }),
    headerBit: (raw, header, n) => ({
      raw,
      header: flipBit(Buffer.from(header, 'latin1'), n % (header.length * 8))
        .toString('latin1')
        .replace(/[^\x21-\x7e]/g, '~'),
    }),
    truncated: (raw, header, n) => ({ raw, header: header.slice(0, header.length - 1 - (n % 64)) }),
    extended: (raw, header) => ({ raw, header: header + '0' }),
    uppercase: (raw, header) => ({
      raw,
      header:
        'sha256=' +
        header
          .slice(7)
          .toUpperCase()
          .replace(/^([0-9]*)$/, 'A$1'),
    }),
    sha1Only: (raw) => ({ raw, header: 'sha1=' + createHmac('sha1', SECRET).update(raw).digest('hex') }),
    missing: (raw) => ({ raw, header: undefined }),
    wrongSecret: (raw) => ({ raw, header: sign(raw, SECRET + 'x') }),
    reserialised: (raw) => ({ raw, header: sign(Buffer.from(raw.toString('utf8').replace(/\\\//g, '/') + ' '), SECRET) }),
  };

  it('200 random tamperings → 401 and no row in webhook_inbox; the untampered control → 200 and one row', async () => {
    const names = Object.keys(tampers);
    const samples = fc.sample(fc.tuple(fc.oneof(metaBody, utf8Body), fc.constantFrom(...names), fc.nat()), { numRuns: 200, seed: 4242 });
    for (const [raw, name, n] of samples) {
      const t2 = tampers[name]!(raw, sign(raw, SECRET), n);
      const res = await t.app.inject({
        method: 'POST',
        url: '/webhooks/meta',
        headers: { 'content-type': 'application/json', ...(t2.header !== undefined ? { 'x-hub-signature-256': t2.header } : {}) },
        payload: t2.raw,
      });
      expect(res.statusCode, `${name} must be refused`).toBe(401);
    }
    expect(await inboxCount()).toBe(0);

    const raw = Buffer.from(metaJsonStringify({ object: 'page', entry: [] }));
    const ok = await t.app.inject({ method: 'POST', url: '/webhooks/meta', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(raw, SECRET) }, payload: raw });
    expect(ok.statusCode).toBe(200);
    expect(await inboxCount()).toBe(1);
    const row = await t.deps.db.selectFrom('webhook_inbox').select('body').executeTakeFirstOrThrow();
    expect(row.body).toBe(raw.toString('utf8'));
  });

  it('without META_APP_SECRET every delivery is refused (nothing stored unverified)', async () => {
    // The same routes over the same database, with a configuration that lacks the secret.
    const deps = { ...t.deps, config: { ...t.deps.config, meta: { ...t.deps.config.meta, appSecret: undefined } } } as typeof t.deps;
    const bare = Fastify();
    await bare.register(metaWebhookRoutes(deps));
    try {
      const before = await inboxCount();
      const raw = Buffer.from('{"object":"page","entry":[]}');
      const res = await bare.inject({ method: 'POST', url: '/webhooks/meta', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(raw, '') }, payload: raw });
      expect(res.statusCode).toBe(401);
      expect(await inboxCount()).toBe(before);
    } finally {
      await bare.close();
    }
  });
});
