/**
 * The shop's currency (Settings › Shop): what every amount Parley shows is formatted in. Saved
 * in `app_settings` under `shop`; never saved, it follows the server's locale (Config.locale).
 *
 * Pages read it from memory (`ShopCurrency.current()`, no statement per render): a save in this
 * process applies at once, one in another process within the TTL (30 s), read in the background.
 */
import type { Db } from '../db/database.ts';
import type { Logger } from '../platform/logger.ts';
import { readSetting, writeSetting } from '../platform/app-settings.repository.ts';

export const SHOP_SETTINGS_KEY = 'shop';

/** The currencies offered (ISO 4217). */
export const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'CAD', 'AUD', 'UAH', 'PLN', 'CZK', 'SEK', 'NOK', 'DKK', 'RON', 'HUF', 'TRY', 'JPY'] as const;
export type Currency = (typeof CURRENCIES)[number];

export function isCurrency(v: unknown): v is Currency {
  return typeof v === 'string' && (CURRENCIES as readonly string[]).includes(v);
}

const EURO_AREA = new Set([
  'AT',
  'BE',
  'CY',
  'DE',
  'EE',
  'ES',
  'FI',
  'FR',
  'GR',
  'HR',
  'IE',
  'IT',
  'LT',
  'LU',
  'LV',
  'MT',
  'NL',
  'PT',
  'SI',
  'SK',
  'MC',
  'SM',
  'VA',
  'AD',
  'ME',
  'XK',
  'RE',
  'GP',
  'MQ',
  'GF',
  'YT',
  'PM',
  'BL',
  'MF',
]);
const BY_REGION: Readonly<Record<string, Currency>> = {
  US: 'USD',
  GB: 'GBP',
  CH: 'CHF',
  LI: 'CHF',
  CA: 'CAD',
  AU: 'AUD',
  UA: 'UAH',
  PL: 'PLN',
  CZ: 'CZK',
  SE: 'SEK',
  NO: 'NOK',
  DK: 'DKK',
  RO: 'RON',
  HU: 'HUF',
  TR: 'TRY',
  JP: 'JPY',
};

/**
 * The currency of a locale's region (`fr-CH` → CHF); a bare language takes its likely region
 * (`fr` → FR → EUR, `en` → US → USD). USD for a region whose currency is not offered.
 */
export function currencyForLocale(tag: string): Currency {
  let region: string | undefined;
  try {
    region = new Intl.Locale(tag).maximize().region;
  } catch {
    region = undefined;
  }
  if (!region) return 'USD';
  if (EURO_AREA.has(region)) return 'EUR';
  return BY_REGION[region] ?? 'USD';
}

interface SavedShop extends Record<string, unknown> {
  currency?: string | null;
}

export class ShopCurrency {
  /** What amounts show while nothing is saved (from the server's locale). */
  readonly fallback: Currency;
  private saved: Currency | null = null;
  private freshUntil = 0;
  /** Bumped by every save: a read that started before it does not overwrite it. */
  private generation = 0;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    /** The locale the default comes from (Config.locale). */
    readonly locale: string,
    private readonly logger: Logger,
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {
    this.fallback = currencyForLocale(locale);
  }

  /** The currency amounts show now. Never waits: a stale value is refreshed in the background. */
  current(): Currency {
    if (this.now() >= this.freshUntil) void this.refresh();
    return this.saved ?? this.fallback;
  }

  /** What an admin saved, or null (the default applies). */
  savedCurrency(): Currency | null {
    return this.saved;
  }

  /** Reads the setting again (one read at a time). */
  refresh(): Promise<void> {
    this.loading ??= (async () => {
      const gen = this.generation;
      try {
        const doc = await readSetting<SavedShop>(this.db, SHOP_SETTINGS_KEY);
        if (gen === this.generation) this.saved = isCurrency(doc?.currency) ? doc.currency : null;
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'shop settings could not be read');
      } finally {
        // A failed read is tried again after the TTL, not on every render.
        if (gen === this.generation) this.freshUntil = this.now() + this.ttlMs;
        this.loading = null;
      }
    })();
    return this.loading;
  }

  /** Saves the shop's currency (null: back to the default) and applies it in this process. */
  async save(currency: Currency | null): Promise<void> {
    const before = (await readSetting<SavedShop>(this.db, SHOP_SETTINGS_KEY)) ?? {};
    await writeSetting(this.db, SHOP_SETTINGS_KEY, { ...before, currency });
    this.generation++;
    this.saved = currency;
    this.freshUntil = this.now() + this.ttlMs;
  }

  /** Waits for a read in flight (before the database closes). */
  async settle(): Promise<void> {
    await this.loading;
  }
}

const currencyNames = new Map<string, Intl.DisplayNames>();
/** A currency's name in the reader's language (`euro`, `US dollar`), from Intl's data. */
export function currencyName(locale: string, code: string): string {
  let names = currencyNames.get(locale);
  if (!names) currencyNames.set(locale, (names = new Intl.DisplayNames(locale, { type: 'currency' })));
  return names.of(code) ?? code;
}
