import { parsePhoneNumberFromString } from 'libphonenumber-js';

/** Fewer digits than this is not a phone number (typos, extensions typed alone). */
export const MIN_PHONE_DIGITS = 5;
/** More than this is not one number (two numbers on one line, an IBAN pasted by mistake). */
export const MAX_PHONE_DIGITS = 20;
/**
 * Trailing digits that identify a number across formats: `+33 6 12 34 56 78` and
 * `06 12 34 56 78` share their last 9 digits (the French national significant number; UK/US
 * numbers have 10, so 9 still tells them apart in practice for one shop's clients).
 */
export const PHONE_TAIL_DIGITS = 9;

/**
 * The form of a phone number used for matching; the number as entered is kept separately
 * (`raw`) for display. With a country code (`+` or `00`) the result is E.164 (`+33612345678`);
 * without one we cannot know the country, so the result is the digits only (`0612345678`).
 * Null when the text holds fewer than 5 digits (or more than 20).
 */
export function normalizePhone(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const text = raw.trim();
  const digits = text.replace(/\D/g, '');
  if (digits.length < MIN_PHONE_DIGITS || digits.length > MAX_PHONE_DIGITS) return null;
  const international = text.startsWith('+') ? text : text.startsWith('00') ? '+' + text.slice(2) : null;
  if (international) {
    // libphonenumber drops formatting, a stray trunk `0` after the country code, extensions.
    const parsed = parsePhoneNumberFromString(international);
    if (parsed && parsed.number.replace(/\D/g, '').length >= MIN_PHONE_DIGITS) return parsed.number;
    const intlDigits = international.replace(/\D/g, '');
    return intlDigits.length >= MIN_PHONE_DIGITS ? '+' + intlDigits : null;
  }
  return digits;
}

/** What a stored phone (normalized) must equal to match: exactly, or by its trailing digits. */
export interface PhoneMatchKeys {
  normalized: string;
  /** The last PHONE_TAIL_DIGITS digits; null for shorter numbers (exact match only). */
  tail: string | null;
}

export function phoneTail(normalized: string): string | null {
  const digits = normalized.replace(/\D/g, '');
  return digits.length >= PHONE_TAIL_DIGITS ? digits.slice(-PHONE_TAIL_DIGITS) : null;
}

/** Keys to look a number up by (chat linking, WhatsApp senders, telephony). Null if not a phone. */
export function phoneMatchKeys(raw: string | null | undefined): PhoneMatchKeys | null {
  const normalized = normalizePhone(raw);
  if (!normalized) return null;
  return { normalized, tail: phoneTail(normalized) };
}

/** Whether two numbers, in any format, are the same line (the rule findClientsByPhone applies). */
export function phonesMatch(a: string | null | undefined, b: string | null | undefined): boolean {
  const ka = phoneMatchKeys(a);
  const kb = phoneMatchKeys(b);
  if (!ka || !kb) return false;
  if (ka.normalized === kb.normalized) return true;
  return ka.tail !== null && ka.tail === kb.tail;
}

/**
 * Whether a search box entry looks like (part of) a phone number rather than a name:
 * only digits and the usual separators, with at least 3 digits.
 */
export function phoneSearchDigits(q: string): string | null {
  if (!/^[\d\s+().\-/]+$/.test(q)) return null;
  // Leading zeros are the trunk or international prefix, absent from E.164 (`06 12` → `612`).
  const digits = q.replace(/\D/g, '').replace(/^0+/, '');
  return digits.length >= 3 ? digits : null;
}
