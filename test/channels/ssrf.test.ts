// S7: inbound media is downloaded only from the platform's hosts, checked when the socket
// connects and on every redirect, with size and time caps; tokens never follow a redirect.
// Unit tests of isPrivateAddress / hostAllowed / safeDownload against local servers, then SSRF
// attempts through attachment URLs in signed webhooks, end to end.
//
// The "attacker" listens on 127.0.0.2 (loopback, but not a host the platform uses) and counts
// every request it gets: each refusal must leave it at 0 hits. The end-to-end world names the
// emulator `localhost` (the operator-trusted platform host, like graph.facebook.com in
// production), so raw loopback addresses such as 127.0.0.1:5432 are not "the platform".
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadRefused, hostAllowed, isPrivateAddress, safeDownload, type DownloadPolicy } from '../../src/platform/safe-download.ts';
import { metaJsonStringify, signBody, startEmulator, type Emulator } from '../../emulator/index.ts';
import { encryptCredentials } from '../../src/channels/channels.service.ts';
import { insertChannel } from '../../src/channels/channels.repository.ts';
import { as, createTestApp, login, makeEmployee, type Session, type TestApp } from '../helpers.ts';
import { loadConfig } from '../../src/config.ts';

interface Recorder {
  server: http.Server;
  port: number;
  hits: Array<{ url: string; authorization?: string | undefined }>;
  url(path?: string): string;
}

async function recorder(host: string, handler?: (req: http.IncomingMessage, res: http.ServerResponse, self: Recorder) => void): Promise<Recorder> {
  const self = { hits: [] } as unknown as Recorder;
  self.server = http.createServer((req, res) => {
    self.hits.push({ url: req.url ?? '', authorization: req.headers.authorization });
    if (handler) return handler(req, res, self);
    res.writeHead(200, { 'content-type': 'image/jpeg' }).end('secret internal data');
  });
  await new Promise<void>((r) => self.server.listen(0, host, r));
  self.port = (self.server.address() as AddressInfo).port;
  self.url = (path = '/') => `http://${host}:${self.port}${path}`;
  return self;
}

/** A stand-in for the platform's CDN on 127.0.0.1: files, redirects, big and slow answers. */
const platformHandler = (req: http.IncomingMessage, res: http.ServerResponse) => {
  const u = new URL(req.url ?? '/', 'http://x');
  if (u.pathname === '/redirect') return res.writeHead(302, { location: u.searchParams.get('to') ?? '/' }).end();
  if (u.pathname === '/loop') return res.writeHead(302, { location: '/loop' }).end();
  if (u.pathname === '/declared-big') return res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(5 * 1024 * 1024) }).end();
  if (u.pathname === '/chunked-big') {
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    const pump = () => {
      while (sent < 3 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
      if (sent < 3 * 1024 * 1024) res.once('drain', () => ((sent += chunk.length), pump()));
      else res.end();
    };
    res.on('error', () => undefined);
    return pump();
  }
  if (u.pathname === '/hang') return; // never answers
  res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from('89504e470d0a1a0a', 'hex'));
};

describe('isPrivateAddress / hostAllowed (unit)', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.0.0.2', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['100.127.255.255', true],
    ['100.128.0.1', false],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['8.8.8.8', false],
    ['157.240.1.35', false],
    ['::1', true],
    ['::', true],
    ['fc00::1', true],
    ['fd12:3456::1', true],
    ['fe80::1', true],
    ['febf::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:169.254.169.254', true],
    ['::ffff:8.8.8.8', false],
    ['::ffff:7f00:1', true],
    ['::ffff:a9fe:a9fe', true],
    ['::ffff:808:808', false],
    ['2a03:2880:f10d:83:face:b00c::25de', false],
  ])('isPrivateAddress(%s) = %s', (addr, expected) => {
    expect(isPrivateAddress(addr)).toBe(expected);
  });

  it.each([
    ['scontent.xx.fbcdn.net', true],
    ['fbcdn.net', true],
    ['FBCDN.NET.', true],
    ['lookaside.fbsbx.com', false],
    ['cdn.fbsbx.net', true],
    ['evilfbcdn.net', false],
    ['fbcdn.net.evil.example', false],
    ['127.0.0.1', false],
    ['localhost', false],
    ['', false],
  ])('hostAllowed(%s) = %s', (host, expected) => {
    expect(hostAllowed(host, ['fbcdn.net', 'fbsbx.net', 'facebook.com', 'cdninstagram.com'])).toBe(expected);
  });
});

describe('safeDownload (unit, S7)', () => {
  let attacker: Recorder; // 127.0.0.2: loopback, never a platform host
  let innerLocal: Recorder; // 127.0.0.1: what `localhost` reaches
  let platform: Recorder; // 127.0.0.1: the trusted "CDN"

  beforeAll(async () => {
    attacker = await recorder('127.0.0.2');
    innerLocal = await recorder('127.0.0.1');
    platform = await recorder('127.0.0.1', platformHandler);
  });
  afterAll(async () => {
    for (const r of [attacker, innerLocal, platform]) r?.server.closeAllConnections(), r?.server.close();
  });

  const policy = (p: Partial<DownloadPolicy> = {}): DownloadPolicy => ({
    allowedHosts: ['127.0.0.1'],
    trustedPrivateHosts: [`127.0.0.1:${platform.port}`],
    maxBytes: 1024 * 1024,
    timeoutMs: 2000,
    ...p,
  });
  async function refused(url: string, p: DownloadPolicy, reason: RegExp, permanent = true) {
    const err = await safeDownload(url, p).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, url).toBeInstanceOf(DownloadRefused);
    expect((err as DownloadRefused).message).toMatch(reason);
    expect((err as DownloadRefused).permanent).toBe(permanent);
  }

  it('the trusted platform host downloads (control)', async () => {
    const file = await safeDownload(platform.url('/photo.png'), policy());
    expect(file.contentType).toBe('image/png');
    expect(file.body.length).toBe(8);
  });

  it('MEDIA_ALLOWED_HOSTS trusts a private address on one host:port only (443 when no port is given), never the host’s other ports (#21)', async () => {
    const env = { DATA_DIR: '/tmp', SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789' };
    const listed = loadConfig({ ...env, MEDIA_ALLOWED_HOSTS: `127.0.0.1:${platform.port}, Media.Example.test` }).media;
    expect(listed.trustedPrivateHosts).toEqual([`127.0.0.1:${platform.port}`, 'media.example.test:443']);
    expect(listed.allowedHosts).toEqual(expect.arrayContaining(['127.0.0.1', 'media.example.test']));
    const innerHits = innerLocal.hits.length;
    const fromConfig = (m: typeof listed): DownloadPolicy => ({ allowedHosts: m.allowedHosts, trustedPrivateHosts: m.trustedPrivateHosts, maxBytes: 1024, timeoutMs: 2000 });
    // The listed port downloads; another service on the same host is refused before it is reached.
    expect((await safeDownload(platform.url('/photo.png'), fromConfig(listed))).body.length).toBe(8);
    await refused(innerLocal.url('/admin'), fromConfig(listed), /address 127\.0\.0\.1 is private/);
    // Without a port the entry means 443: no port of a private address is trusted by name alone.
    const bare = loadConfig({ ...env, MEDIA_ALLOWED_HOSTS: '127.0.0.1' }).media;
    expect(bare.trustedPrivateHosts).toEqual(['127.0.0.1:443']);
    await refused(innerLocal.url('/admin'), fromConfig(bare), /address 127\.0\.0\.1 is private/);
    await refused(platform.url('/photo.png'), fromConfig(bare), /address 127\.0\.0\.1 is private/);
    expect(innerLocal.hits).toHaveLength(innerHits);
  });

  it('a host not on the allow-list is refused before any connection', async () => {
    await refused(attacker.url('/x.jpg'), policy(), /not an allowed media host/);
    await refused('http://169.254.169.254/latest/meta-data', policy(), /not an allowed media host/);
    await refused('http://[::1]:5432/', policy(), /not an allowed media host/);
    await refused('http://[::ffff:127.0.0.1]:5432/', policy(), /not an allowed media host/);
    await refused('https://scontent.fbcdn.net.attacker.example/x.jpg', policy({ allowedHosts: ['fbcdn.net'] }), /not an allowed media host/);
    expect(attacker.hits).toHaveLength(0);
  });

  it('an allowed but untrusted host is refused when its address is private: IP literal, or DNS answer at connect time', async () => {
    await refused(attacker.url('/x'), policy({ allowedHosts: ['127.0.0.2'], trustedPrivateHosts: [] }), /address 127\.0\.0\.2 is private/);
    // `localhost` passes the name check; the socket's lookup sees 127.0.0.1 and refuses.
    await refused(`http://localhost:${innerLocal.port}/x`, policy({ allowedHosts: ['localhost'], trustedPrivateHosts: [] }), /127\.0\.0\.1 of localhost is private/);
    expect(attacker.hits).toHaveLength(0);
    expect(innerLocal.hits).toHaveLength(0);
  });

  it('every redirect is checked again: to a private address, a metadata IP or a non-platform host → refused, nothing fetched there', async () => {
    const to = (target: string) => platform.url('/redirect?to=' + encodeURIComponent(target));
    await refused(to(attacker.url('/stolen')), policy(), /127\.0\.0\.2 is not an allowed media host/);
    await refused(to('http://169.254.169.254/latest/meta-data/iam'), policy(), /169\.254\.169\.254 is not an allowed media host/);
    await refused(to(`http://localhost:${innerLocal.port}/admin`), policy({ allowedHosts: ['127.0.0.1', 'localhost'] }), /of localhost is private/);
    await refused(to('file:///etc/passwd'), policy(), /scheme file: refused/);
    expect(attacker.hits).toHaveLength(0);
    expect(innerLocal.hits).toHaveLength(0);
  });

  it('the bearer token never follows a redirect to another origin', async () => {
    const to = platform.url('/redirect?to=' + encodeURIComponent(innerLocal.url('/collect')));
    const bearer = { token: 'EAAsecret', hosts: ['127.0.0.1'] };
    // Both origins trusted (host:port): only the token's host rule keeps it from the second.
    await safeDownload(to, policy({ bearer, trustedPrivateHosts: [`127.0.0.1:${platform.port}`, `127.0.0.1:${innerLocal.port}`] }));
    const first = platform.hits[platform.hits.length - 1]!;
    expect(first.authorization).toBe('Bearer EAAsecret');
    expect(innerLocal.hits.at(-1)).toEqual({ url: '/collect', authorization: undefined });
  });

  it('size caps: a declared length over the cap, and a stream that grows past it, are refused as too large', async () => {
    await refused(platform.url('/declared-big'), policy(), /too large/);
    await refused(platform.url('/chunked-big'), policy(), /too large/);
  });

  it('other refusals: schemes, credentials in the URL, not a URL, redirect loops; a hung server times out (retryable)', async () => {
    await refused('file:///etc/passwd', policy(), /scheme file: refused/);
    await refused('ftp://127.0.0.1/x', policy(), /scheme ftp: refused/);
    await refused('gopher://127.0.0.1:6379/_INFO', policy(), /scheme gopher: refused/);
    await refused(`http://user:pass@127.0.0.1:${platform.port}/`, policy(), /credentials in URL/);
    await refused('not a url', policy(), /not a URL/);
    await refused(platform.url('/loop'), policy(), /too many redirects/);
    await refused(platform.url('/hang'), policy({ timeoutMs: 300 }), /took too long|timed out/, false);
  });
});

describe('SSRF through inbound attachment URLs (end to end)', () => {
  const APP_SECRET = 'ssrf-app-secret';
  const PAGE_ID = '104455667788990';
  let emu: Emulator;
  let t: TestApp;
  let agent: Session;
  let attacker: Recorder;
  let platform: Recorder;
  let n = 0;

  beforeAll(async () => {
    attacker = await recorder('127.0.0.2');
    platform = await recorder('127.0.0.1', platformHandler);
    emu = await startEmulator({ appSecret: APP_SECRET, webhooks: { retryDelaysMs: [20, 50, 100], batchWindowMs: 5, handshakeOnStart: false } });
    // Media URLs name the platform host `localhost`, as Parley's Graph URL does.
    emu.ctx.config.mediaBaseUrl = `http://localhost:${emu.port}`;
    t = await createTestApp({ env: { META_GRAPH_URL: `http://localhost:${emu.port}`, META_APP_SECRET: APP_SECRET, META_APP_ID: emu.config.appId, MEDIA_MAX_MB: '1' } });
    expect(t.deps.config.media.trustedPrivateHosts).toEqual([`localhost:${emu.port}`]);
    expect(t.deps.config.media.allowedHosts).not.toContain('127.0.0.1');
    const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    emu.setCallbackUrl(`${url}/webhooks/meta`);
    await insertChannel(t.deps.db, {
      kind: 'messenger',
      name: 'Demo Repair Shop',
      externalId: PAGE_ID,
      credentialsEnc: encryptCredentials(t.deps.config.secretKey, { accessToken: 'EAAEMUpage104455667788990' }),
      settings: {},
      accessAll: true,
    });
    const e = await makeEmployee(t.deps, { role: 'agent' });
    agent = await login(t.app, e.email);
  });
  afterAll(async () => {
    await emu?.close();
    await t?.close();
    for (const r of [attacker, platform]) r?.server.closeAllConnections(), r?.server.close();
  });

  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await emu.flush();
      await t.deps.queue.idle();
      await t.deps.live.settle();
    }
  };

  /** Anna sends a photo whose URL is `url`: returns the attachment row after processing. */
  async function attachmentFrom(url: string) {
    const mid = `m_ssrf_${++n}_${Date.now()}`;
    const body = metaJsonStringify({
      object: 'page',
      entry: [
        {
          id: PAGE_ID,
          time: Date.now(),
          messaging: [{ sender: { id: emu.scopedId('anna', 'messenger') }, recipient: { id: PAGE_ID }, timestamp: Date.now(), message: { mid, attachments: [{ type: 'image', payload: { url } }] } }],
        },
      ],
    });
    const res = await t.app.inject({ method: 'POST', url: '/webhooks/meta', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, APP_SECRET) }, payload: body });
    expect(res.statusCode).toBe(200);
    await settle();
    return t.deps.db
      .selectFrom('attachments')
      .innerJoin('messages', 'messages.id', 'attachments.message_id')
      .select(['attachments.id', 'attachments.status', 'attachments.status_reason', 'attachments.storage_key', 'messages.chat_id', 'messages.id as message_id'])
      .where('messages.external_id', '=', mid)
      .executeTakeFirstOrThrow();
  }

  it('a real platform photo still downloads (control)', async () => {
    emu.send('anna', 'messenger', { attachment: { sample: 'photo.jpg' } });
    await settle();
    const att = await t.deps.db.selectFrom('attachments').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(att.status).toBe('stored');
  });

  it.each([
    ['PostgreSQL on loopback', 'http://127.0.0.1:5432/'],
    ['the cloud metadata service', 'http://169.254.169.254/latest/meta-data'],
    ['a host that is not the platform', 'http://attacker.example.net/cat.jpg'],
    ['a look-alike of the platform’s CDN', 'https://scontent.fbcdn.net.attacker.example/v/photo.jpg'],
    ['IPv6 loopback', 'http://[::1]:6379/'],
  ])('%s (%s) → attachment failed, nothing fetched', async (_label, url) => {
    const att = await attachmentFrom(url);
    expect(att.status).toBe('failed');
    expect(att.status_reason).toMatch(/not an allowed media host/);
    expect(att.storage_key).toBeNull();
  });

  it('a loopback attacker server (127.0.0.2) → failed, 0 hits', async () => {
    const att = await attachmentFrom(attacker.url('/photo.jpg'));
    expect(att.status).toBe('failed');
    expect(attacker.hits).toHaveLength(0);
  });

  it('a redirect from the platform host to a private address or the metadata IP → failed, 0 hits there', async () => {
    const via = (target: string) => `http://localhost:${platform.port}/redirect?to=${encodeURIComponent(target)}`;
    for (const target of [attacker.url('/after-redirect'), 'http://169.254.169.254/latest/meta-data', 'http://127.0.0.1:5432/']) {
      const att = await attachmentFrom(via(target));
      expect(att.status, target).toBe('failed');
      // Refused at the redirect, or before it: only the Graph double's own port is trusted to
      // be private, so this second local port is refused outright (redirects themselves are
      // covered by the safeDownload unit tests above).
      expect(att.status_reason).toMatch(/is not an allowed media host|is private/);
    }
    expect(attacker.hits).toHaveLength(0);
  });

  it('a file larger than MEDIA_MAX_MB (1 MB here) → failed “too large”, and the thread shows a placeholder', async () => {
    emu.send('anna', 'messenger', { attachment: { bytes: Buffer.alloc(1536 * 1024, 7), filename: 'scan.pdf', mimeType: 'application/pdf' } });
    await settle();
    const att = await t.deps.db
      .selectFrom('attachments')
      .innerJoin('messages', 'messages.id', 'attachments.message_id')
      .select(['attachments.id', 'attachments.status', 'attachments.status_reason', 'messages.chat_id'])
      .orderBy('attachments.id', 'desc')
      .executeTakeFirstOrThrow();
    expect(att.status).toBe('failed');
    expect(att.status_reason).toMatch(/too large/);
    const page = await as(t.app, agent).get(`/chats/${att.chat_id}`);
    expect(page.body).toContain('The file could not be downloaded from the platform.');
    expect((await as(t.app, agent).get(`/media/${att.id}`)).statusCode).toBe(404);
  });
});
