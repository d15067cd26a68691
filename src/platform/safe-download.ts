import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';

export class DownloadRefused extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'DownloadRefused';
  }
}

export interface DownloadPolicy {
  /** Host names (and their subdomains) media may come from. */
  allowedHosts: readonly string[];
  /**
   * `host:port`s an operator configured explicitly (e.g. the Graph URL of a local emulator,
   * MEDIA_ALLOWED_HOSTS): only these may resolve to loopback or private addresses, on that
   * port only (config.ts hostAndPort; IPv6 without brackets).
   */
  trustedPrivateHosts: readonly string[];
  maxBytes: number;
  timeoutMs: number;
  maxRedirects?: number;
  /** Sent only to the URL's host when it is one of these (WhatsApp media needs the token). */
  bearer?: { token: string; hosts: readonly string[] };
}

export interface Downloaded {
  body: Buffer;
  contentType: string | null;
  fileName: string | null;
}

export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return allowed.some((a) => h === a || h.endsWith('.' + a));
}

/** Loopback, private, link-local, CGNAT, multicast and unspecified ranges (v4 and v6). */
export function isPrivateAddress(addr: string): boolean {
  if (isIP(addr) === 4) {
    const [a, b] = addr.split('.').map(Number) as [number, number];
    return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || a >= 224;
  }
  const v = addr.toLowerCase();
  if (v.startsWith('::ffff:')) {
    // IPv4-mapped addresses also come in hex: URL parsing writes [::ffff:127.0.0.1] as
    // [::ffff:7f00:1], which the dotted check alone let through as "public".
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v.slice(7));
    if (hex) {
      const hi = parseInt(hex[1]!, 16);
      const lo = parseInt(hex[2]!, 16);
      return isPrivateAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    return isPrivateAddress(v.slice(7));
  }
  // Link-local is fe80::/10 (fe80–febf), not only addresses spelled "fe80…".
  return v === '::' || v === '::1' || v.startsWith('fc') || v.startsWith('fd') || /^fe[89ab]/.test(v) || v.startsWith('ff');
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A socket `lookup` that refuses a name resolving to a private address (error code EPRIVATE),
 * checked when the socket connects, so DNS rebinding cannot slip one in after a check. For an
 * IP literal no lookup happens: check it with isPrivateAddress first.
 */
export function publicOnlyLookup(hostname: string, options: object, cb: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return cb(err, '');
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) return cb(Object.assign(new Error(`address ${bad.address} of ${hostname} is private`), { code: 'EPRIVATE' }), '');
    // A caller that asked for one address gets one, as `dns.lookup` would answer it.
    if ((options as { all?: boolean }).all) cb(null, list);
    else cb(null, list[0]!.address, list[0]!.family);
  });
}

/** The private address a URL's host is or resolves to now, else null (also when it does not resolve). */
export async function privateAddressOf(rawUrl: string): Promise<string | null> {
  let host: string;
  try {
    host = new URL(rawUrl).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return null;
  }
  if (isIP(host)) return isPrivateAddress(host) ? host : null;
  const list = await new Promise<LookupAddress[]>((resolve) => dnsLookup(host, { all: true }, (err, a) => resolve(err ? [] : a)));
  return list.find((a) => isPrivateAddress(a.address))?.address ?? null;
}

/**
 * S7: downloads a platform media URL without becoming an SSRF proxy. The host must be on the
 * allow-list; the address is checked when the socket connects (so DNS rebinding cannot slip a
 * private address in after a check), and again for every redirect; size and time are capped.
 */
export async function safeDownload(rawUrl: string, policy: DownloadPolicy, redirects = 0): Promise<Downloaded> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new DownloadRefused('not a URL', true);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DownloadRefused(`scheme ${url.protocol} refused`, true);
  if (url.username || url.password) throw new DownloadRefused('credentials in URL refused', true);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!hostAllowed(host, policy.allowedHosts)) throw new DownloadRefused(`host ${host} is not an allowed media host`, true);
  // Trusted by exact host:port only: another service on the same host stays out of reach.
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const trusted = policy.trustedPrivateHosts.includes(`${host.toLowerCase()}:${port}`);

  const lookup = trusted
    ? (hostname: string, options: object, cb: LookupCallback) => dnsLookup(hostname, { ...options, all: true }, cb as never)
    : (hostname: string, options: object, cb: LookupCallback) => publicOnlyLookup(hostname, { ...options, all: true }, cb);
  if (isIP(host) && isPrivateAddress(host) && !trusted) throw new DownloadRefused(`address ${host} is private`, true);

  const headers: Record<string, string> = { 'user-agent': 'Parley media fetcher' };
  if (policy.bearer && hostAllowed(host, policy.bearer.hosts)) headers.authorization = `Bearer ${policy.bearer.token}`;
  const client = url.protocol === 'https:' ? https : http;

  return new Promise<Downloaded>((resolve, reject) => {
    const req = client.request(url, { method: 'GET', headers, lookup: lookup as never, timeout: policy.timeoutMs }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= (policy.maxRedirects ?? 3)) return reject(new DownloadRefused('too many redirects', true));
        const next = new URL(res.headers.location, url).toString();
        // The bearer token never follows a redirect to another host.
        const nextPolicy = new URL(next).host === url.host ? policy : { ...policy, bearer: undefined };
        return resolve(safeDownload(next, nextPolicy as DownloadPolicy, redirects + 1));
      }
      if (status !== 200) {
        res.resume();
        return reject(new DownloadRefused(`HTTP ${status}`, status === 404 || status === 403 || status === 410));
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > policy.maxBytes) {
        res.destroy();
        return reject(new DownloadRefused(`file too large (${declared} bytes)`, true));
      }
      readCapped(res, policy.maxBytes).then(
        (body) => resolve({ body, contentType: res.headers['content-type']?.split(';')[0]?.trim() ?? null, fileName: fileNameOf(res.headers['content-disposition'], url) }),
        reject,
      );
    });
    const deadline = setTimeout(() => req.destroy(new DownloadRefused('download took too long', false)), policy.timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () => req.destroy(new DownloadRefused('download timed out', false)));
    req.on('error', (err) => reject((err as { code?: string }).code === 'EPRIVATE' ? new DownloadRefused(err.message, true) : err));
    req.end();
  });
}

function readCapped(stream: Readable, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        stream.destroy();
        reject(new DownloadRefused(`file too large (over ${max} bytes)`, true));
      } else chunks.push(c);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function fileNameOf(disposition: string | undefined, url: URL): string | null {
  const m = disposition && /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  if (m?.[1]) {
    try {
      return decodeURIComponent(m[1]).slice(0, 200);
    } catch {
      return m[1].slice(0, 200);
    }
  }
  const last = url.pathname.split('/').pop();
  return last && /\.[a-z0-9]{1,8}$/i.test(last) ? decodeURIComponent(last).slice(0, 200) : null;
}
