import { Eta } from 'eta';
import { join } from 'node:path';
import { formatAmount, formatDateTime, type Locale, type Translate } from './i18n/index.ts';

export function createEta(root: string, cache: boolean): Eta {
  return new Eta({
    views: join(root, 'views'),
    cache,
    autoEscape: true,
    autoTrim: false,
    defaultExtension: '.eta',
  });
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
  iso(d: Date | string | null | undefined): string;
}

export function formatters(locale: Locale): Formatters {
  const toDate = (d: Date | string) => (d instanceof Date ? d : new Date(d));
  return {
    dateTime: (d) => (d ? formatDateTime(locale, toDate(d)) : ''),
    date: (d) => (d ? formatDateTime(locale, toDate(d), 'date') : ''),
    time: (d) => (d ? formatDateTime(locale, toDate(d), 'time') : ''),
    amount: (c) => formatAmount(locale, c),
    iso: (d) => (d ? toDate(d).toISOString() : ''),
  };
}

import type { Eta as EtaType } from 'eta';
import { translator, type Locale as L } from './i18n/index.ts';

/**
 * Renders a partial outside a request (live events, jobs): the same templates, with the
 * language-dependent helpers and no per-employee data (no CSRF token: htmx sends it from the
 * page's hx-headers).
 */
export function renderPartial(eta: EtaType, template: string, locale: L, data: Record<string, unknown>): string {
  const base = {
    t: translator(locale),
    locale,
    csrf: '',
    fmt: formatters(locale),
    me: null,
    redDot: false,
    reconnectChannels: [],
    lastEventId: 0,
    path: '',
    assets: {},
  };
  return eta.render(template, { ...base, ...data });
}
