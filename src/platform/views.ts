import { Eta } from 'eta';
import { join } from 'node:path';
import { formatAmount, formatDateTime, type Locale, type Translate } from './i18n/index.ts';

/**
 * Eta resolves every `include` path anew (a JSON key, path joins, a containment check) on each
 * render; a page with 30 list items does it 60 times. The answer only depends on the including
 * file and the name, so it is remembered (the containment check still runs once per pair).
 */
class MemoEta extends Eta {
  private readonly resolved = new Map<string, Map<string, string>>();
  constructor(...args: ConstructorParameters<typeof Eta>) {
    super(...args);
    const resolve = this.resolvePath;
    this.resolvePath = (template: string, options?: { filepath?: string }) => {
      const from = options?.filepath ?? '';
      let byName = this.resolved.get(from);
      if (!byName) this.resolved.set(from, (byName = new Map()));
      let path = byName.get(template);
      if (path === undefined) {
        path = resolve.call(this, template, options as never);
        byName.set(template, path);
      }
      return path;
    };
  }
}

/** The templates, and the shop's currency that partials rendered outside a request format amounts in. */
export type ViewEngine = Eta & { readonly currency: () => string };

export function createEta(root: string, cache: boolean, currency: () => string): ViewEngine {
  const eta = new MemoEta({
    views: join(root, 'views'),
    cache,
    autoEscape: true,
    autoTrim: false,
    defaultExtension: '.eta',
  });
  return Object.assign(eta, { currency });
}

/** Data every template receives as `it` (pages and partials alike). */
export interface BaseViewData {
  t: Translate;
  locale: Locale;
  csrf: string;
  fmt: Formatters;
  me: { id: number; name: string; isAdmin: boolean; can: (perm: string) => boolean } | null;
  redDot: boolean;
  /** Channels needing reconnection (admins' banner). */
  reconnectChannels: unknown[];
  lastEventId: number;
  path: string;
  assets: Record<string, string>;
}

export interface Formatters {
  dateTime(d: Date | string | null | undefined): string;
  date(d: Date | string | null | undefined): string;
  time(d: Date | string | null | undefined): string;
  amount(cents: number): string;
  /** The shop's currency (ISO 4217), e.g. for an amount field's label. */
  currency: string;
  iso(d: Date | string | null | undefined): string;
}

/** ISO strings of recent instants: every page shows the same ones again (list, thread). */
const isoStrings = new Map<number, string>();
function isoOf(d: Date): string {
  const ms = d.getTime();
  let s = isoStrings.get(ms);
  if (s === undefined) {
    if (!Number.isFinite(ms)) return '';
    if (isoStrings.size >= 20_000) isoStrings.clear();
    s = d.toISOString();
    isoStrings.set(ms, s);
  }
  return s;
}

/** `currency`: the shop's (ShopCurrency.current(), read from memory). */
export function formatters(locale: Locale, currency: string): Formatters {
  const toDate = (d: Date | string) => (d instanceof Date ? d : new Date(d));
  return {
    dateTime: (d) => (d ? formatDateTime(locale, toDate(d)) : ''),
    date: (d) => (d ? formatDateTime(locale, toDate(d), 'date') : ''),
    time: (d) => (d ? formatDateTime(locale, toDate(d), 'time') : ''),
    amount: (c) => formatAmount(locale, currency, c),
    currency,
    iso: (d) => (d ? isoOf(toDate(d)) : ''),
  };
}

import { translator, type Locale as L } from './i18n/index.ts';

/**
 * Renders a partial outside a request (live events, jobs): the same templates, with the
 * language-dependent helpers and no per-employee data (no CSRF token: htmx sends it from the
 * page's hx-headers).
 */
export function renderPartial(eta: ViewEngine, template: string, locale: L, data: Record<string, unknown>): string {
  const base = {
    t: translator(locale),
    locale,
    csrf: '',
    fmt: formatters(locale, eta.currency()),
    me: null,
    redDot: false,
    reconnectChannels: [],
    lastEventId: 0,
    path: '',
    assets: {},
  };
  return eta.render(template, { ...base, ...data });
}
