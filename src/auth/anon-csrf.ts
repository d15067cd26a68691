import { createHmac } from 'node:crypto';
import { randomToken, safeEqual } from '../platform/crypto.ts';

/**
 * The double-submit token of the anonymous forms (setup, login): `<random>.<HMAC>`, signed with
 * a key derived from SECRET_KEY. A cookie Parley did not issue (planted by a sibling subdomain
 * or over plain http) fails the signature and is replaced, so the value an attacker put in both
 * the cookie and the form never matches.
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
