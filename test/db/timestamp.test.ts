import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { timestampParser } from '../../src/db/timestamp.ts';

describe('timestamptz fast reader', () => {
  const fallbackCalls: string[] = [];
  const parse = timestampParser((s) => {
    fallbackCalls.push(s);
    return 'fallback';
  });

  it('reads the forms PostgreSQL writes, with and without fractions and minute offsets', () => {
    expect((parse('2026-11-24 01:22:17.123456+00') as Date).toISOString()).toBe('2026-11-24T01:22:17.123Z');
    expect((parse('2026-11-24 01:22:17+00') as Date).toISOString()).toBe('2026-11-24T01:22:17.000Z');
    expect((parse('2026-11-24 01:22:17.5+01') as Date).toISOString()).toBe('2026-11-24T00:22:17.500Z');
    expect((parse('2026-11-24 06:52:17.000999+05:30') as Date).toISOString()).toBe('2026-11-24T01:22:17.000Z');
    expect((parse('2026-11-23 21:22:17.04-04') as Date).toISOString()).toBe('2026-11-24T01:22:17.040Z');
    expect(fallbackCalls).toEqual([]);
  });

  it('hands anything unusual to the general parser', () => {
    for (const s of ['infinity', '-infinity', '0099-01-01 00:00:00+00', '2026-11-24 01:22:17+00 BC', '2026-11-24 01:22:17+05:30:15', '2026-11-24T01:22:17Z']) {
      expect(parse(s)).toBe('fallback');
    }
  });

  it('agrees with the general parser on any instant (UTC and offset forms)', () => {
    const real = timestampParser((s) => {
      throw new Error(`unexpected fallback for ${s}`);
    });
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1001-01-01T00:00:00Z'), max: new Date('9998-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.integer({ min: -14 * 4, max: 14 * 4 }),
        fc.integer({ min: 0, max: 999 }),
        (d, quarterHours, micros) => {
          const offsetMin = quarterHours * 15;
          const local = new Date(d.getTime() + offsetMin * 60_000);
          const iso = local.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
          const sign = offsetMin < 0 ? '-' : '+';
          const abs = Math.abs(offsetMin);
          const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${abs % 60 ? ':' + String(abs % 60).padStart(2, '0') : ''}`;
          const text = `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(micros).padStart(3, '0')}${zone}`;
          expect((real(text) as Date).getTime()).toBe(d.getTime());
        },
      ),
      { numRuns: 2000 },
    );
  });
});
