// Identifier generation. Seeded so a run is reproducible (chaos uses the same PRNG family).
// Shapes imitate the platforms' ids (numeric PSIDs, `m_` mids, `wamid.` ids…) because Parley
// stores them as opaque strings and some code paths may check a prefix.

/** mulberry32: tiny, fast, good enough for ids and chaos decisions. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export class Ids {
  private rand: () => number;
  private counter = 0;

  constructor(seed: number) {
    this.rand = prng(seed);
  }

  private pick(alphabet: string, length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.rand() * alphabet.length)];
    return out;
  }

  /** Numeric id with a non-zero first digit. */
  digits(length: number): string {
    return String(1 + Math.floor(this.rand() * 9)) + this.pick('0123456789', length - 1);
  }

  token(prefix = 'EAAEMU'): string {
    return prefix + this.pick(ALNUM, 40);
  }

  psid(): string {
    return this.digits(16);
  }

  igsid(): string {
    return this.digits(16);
  }

  messengerMid(): string {
    return `m_${this.pick(B64URL, 86)}`;
  }

  instagramMid(): string {
    // Real IG mids are base64 of "ig_message_item:1:IGMessage…"; the prefix is kept.
    return `aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOj${this.pick(ALNUM, 60)}`;
  }

  wamid(): string {
    return `wamid.HBgL${this.pick(ALNUM, 44)}=`;
  }

  messengerThreadId(): string {
    return `t_${this.digits(16)}`;
  }

  instagramThreadId(): string {
    return `aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ6${this.pick(ALNUM, 40)}`;
  }

  mediaId(): string {
    return this.digits(16);
  }

  commentObjectId(): string {
    return this.digits(15);
  }

  igCommentId(): string {
    return `180${this.digits(14)}`;
  }

  attachmentId(): string {
    return this.digits(16);
  }

  oauthCode(): string {
    return `AQ${this.pick(B64URL, 120)}`;
  }

  fbtraceId(): string {
    return this.pick(ALNUM, 11);
  }

  /** Monotonic, for internal records (calls, deliveries). */
  seq(): number {
    return ++this.counter;
  }

  random(): number {
    return this.rand();
  }

  hex(length: number): string {
    return this.pick('0123456789abcdef', length);
  }
}
