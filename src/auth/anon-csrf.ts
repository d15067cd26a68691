import { createHmac } from 'node:crypto';
import { randomToken, safeEqual } from '../platform/crypto.ts';

/**
 * The anonymous forms' cookie. With Secure cookies (PUBLIC_URL https) its name has the
 * `__Host-` prefix: a browser stores such a cookie only when it is Secure, Path=/ and without
 * Domain, so neither a sibling subdomain nor a plain-http answer can set it. Without it, a
 * genuine token an attacker fetched from /login could be planted in a victim's browser.
 */
export function anonCsrfCookie(secure: boolean) {
  return {
    name: secure ? '__Host-parley_csrf' : 'parley_csrf',
    options: { path: '/', httpOnly: true, sameSite: 'lax' as const, secure },
  };
}

/**
 * The double-submit token of the anonymous forms (setup, login, the code step): `<random>.<HMAC>`,
 * signed with a key derived from SECRET_KEY. A cookie Parley did not issue fails the signature
 * and is replaced, so a value an attacker made up and put in both the cookie and the form never
 * matches. The signature proves Parley issued a token, not to whom: the `__Host-` name above
 * keeps others from planting one, and app.ts refuses anonymous posts a browser marks cross-site.
 */
export class AnonCsrf {
  private readonly key: Buffer;

  constructor(secretKey: Buffer) {
    // Its own key: Config.secretKey encrypts secrets at rest and signs nothing else.
    this.key = createHmac('sha256', secretKey).update('parley/anonymous-csrf/v1').digest();
  }

  issue(): string {
    const nonce = randomToken(24);
    return `${nonce}.${this.sign(nonce)}`;
  }

  isValid(token: string | undefined): token is string {
    if (!token || token.length > 200) return false;
    const dot = token.indexOf('.');
    if (dot < 20) return false;
    return safeEqual(token.slice(dot + 1), this.sign(token.slice(0, dot)));
  }

  private sign(nonce: string): string {
    return createHmac('sha256', this.key).update(nonce).digest('base64url');
  }
}
