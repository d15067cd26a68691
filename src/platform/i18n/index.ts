import { coreEn } from './core.en.ts';
import { coreFr } from './core.fr.ts';

export type Locale = 'en' | 'fr';
export const LOCALES: readonly Locale[] = ['en', 'fr'];

/**
 * Every message key, as this interface's keys: core's here; each feature's join by declaration
 * merging in the root's src/dictionaries.ts, which also hands their strings in at start
 * (`addDictionaries`), so platform imports no feature.
 */
export interface MessageKeys extends Record<keyof typeof coreEn, true> {}
export type MessageKey = keyof MessageKeys & string;
export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

/** Every visible string, per language: core's, then the features' the root adds. */
const dictionaries: Record<Locale, Record<string, string>> = { en: { ...coreEn }, fr: { ...coreFr } };

/** The root adds the features' dictionaries at start (src/dictionaries.ts); later keys win, as in a merge. */
export function addDictionaries(d: Record<Locale, Record<string, string>>): void {
  Object.assign(dictionaries.en, d.en);
  Object.assign(dictionaries.fr, d.fr);
}

export function translator(locale: Locale): Translate {
  const dict = dictionaries[locale];
  const en = dictionaries.en;
  return (key, params) => {
    const s = dict[key] ?? en[key] ?? key;
    if (!params) return s;
    return s.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
  };
}

export function isLocale(v: unknown): v is Locale {
  return v === 'en' || v === 'fr';
}

/** The employee's setting wins; otherwise the first supported language the browser prefers. */
export function pickLocale(employeeLocale: string | null | undefined, acceptLanguage: string | undefined): Locale {
  if (isLocale(employeeLocale)) return employeeLocale;
  if (acceptLanguage) {
    const prefs = acceptLanguage
      .split(',')
      .map((part) => {
        const [tag = '', ...rest] = part.trim().split(';');
        const q = rest.find((r) => r.trim().startsWith('q='));
        return { lang: tag.trim().toLowerCase().split('-')[0] ?? '', q: q ? Number(q.trim().slice(2)) || 0 : 1 };
      })
      .sort((a, b) => b.q - a.q);
    for (const p of prefs) if (isLocale(p.lang)) return p.lang;
  }
  return 'en';
}

/**
 * Formatted strings by (locale, style, minute): every style shows minutes at most, so a minute
 * formats the same way all through, and a page of 30 chats from the same hour formats a handful
 * of distinct values instead of 30 (Intl formatting is the costly part of a list render).
 */
const formatted = new Map<string, string>();
const FORMATTED_MAX = 10_000;

export function formatDateTime(locale: Locale, d: Date, style: 'datetime' | 'date' | 'time' = 'datetime'): string {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) return '';
  const memoKey = `${locale}|${style}|${Math.floor(ms / 60_000)}`;
  const known = formatted.get(memoKey);
  if (known !== undefined) return known;
  if (formatted.size >= FORMATTED_MAX) formatted.clear();
  const s = formatWith(locale, style, d);
  formatted.set(memoKey, s);
  return s;
}

/** Cached formatters: building an Intl formatter per row would be slower still. */
const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

function formatWith(locale: Locale, style: 'datetime' | 'date' | 'time', d: Date): string {
  const k = `${locale}|${style}`;
  let f = dateTimeFormats.get(k);
  if (!f) {
    const opts: Intl.DateTimeFormatOptions = style === 'date' ? { dateStyle: 'medium' } : style === 'time' ? { timeStyle: 'short' } : { dateStyle: 'medium', timeStyle: 'short' };
    f = new Intl.DateTimeFormat(locale === 'fr' ? 'fr-FR' : 'en-GB', opts);
    dateTimeFormats.set(k, f);
  }
  return f.format(d);
}

/**
 * An amount in the shop's currency (ISO 4217), in the reader's language: `1 234,50 €`,
 * `€1,234.50`, `$1,234.50`. The narrow symbol: a shop has one currency, so `$` needs no `US`.
 */
const moneyFormats = new Map<string, Intl.NumberFormat>();
export function formatAmount(locale: Locale, currency: string, cents: number): string {
  const k = `${locale}|${currency}`;
  let f = moneyFormats.get(k);
  if (!f) {
    f = new Intl.NumberFormat(locale === 'fr' ? 'fr-FR' : 'en-GB', { style: 'currency', currency, currencyDisplay: 'narrowSymbol' });
    moneyFormats.set(k, f);
  }
  return f.format(cents / 100);
}
