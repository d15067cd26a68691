import { describe, expect, it } from 'vitest';
import { normalizePhone, phoneMatchKeys, phoneSearchDigits, phonesMatch } from '../../src/crm/phone.ts';

describe('normalizePhone', () => {
  it.each([
    ['+33 6 12 34 56 78', '+33612345678'],
    ['+33 (0)6 12 34 56 78', '+33612345678'],
    ['0033 6 12 34 56 78', '+33612345678'],
    ['+44 20 7946 0958', '+442079460958'],
    ['+1 (415) 555-0132', '+14155550132'],
    ['+32 470/12.34.56', '+32470123456'],
    ['  06 12 34 56 78  ', '0612345678'],
    ['06.12.34.56.78', '0612345678'],
    ['07700 900321', '07700900321'],
    ['12345', '12345'],
    ['+999 1234567', '+9991234567'], // unknown country code: digits kept with the +
  ])('%s → %s', (raw, expected) => {
    expect(normalizePhone(raw)).toBe(expected);
  });

  it.each([[''], ['   '], ['1234'], ['+1 234'], ['abc'], ['call me'], ['1'.repeat(21)]])('%j is not a phone number', (raw) => {
    expect(normalizePhone(raw)).toBeNull();
  });

  it('handles non-strings', () => {
    expect(normalizePhone(undefined)).toBeNull();
    expect(normalizePhone(null)).toBeNull();
  });
});

describe('matching', () => {
  it('gives the exact key and the last 9 digits', () => {
    expect(phoneMatchKeys('+33 6 12 34 56 78')).toEqual({ normalized: '+33612345678', tail: '612345678' });
    expect(phoneMatchKeys('12345')).toEqual({ normalized: '12345', tail: null });
    expect(phoneMatchKeys('nope')).toBeNull();
  });

  it('matches the same line written in different formats', () => {
    expect(phonesMatch('+33 6 12 34 56 78', '06 12 34 56 78')).toBe(true);
    expect(phonesMatch('0033612345678', '+33 6 12 34 56 78')).toBe(true);
    expect(phonesMatch('33612345678', '06-12-34-56-78')).toBe(true); // WhatsApp ids have no +
    expect(phonesMatch('+44 7700 900123', '07700 900123')).toBe(true);
    expect(phonesMatch('+33 6 12 34 56 78', '+33 6 12 34 56 79')).toBe(false);
    expect(phonesMatch('12345', '012345')).toBe(false);
    expect(phonesMatch('', '')).toBe(false);
  });

  it('recognises phone-like search text', () => {
    expect(phoneSearchDigits('06 12 34')).toBe('61234');
    expect(phoneSearchDigits('+33 6')).toBe('336');
    expect(phoneSearchDigits('Camille')).toBeNull();
    expect(phoneSearchDigits('06')).toBeNull();
  });
});
