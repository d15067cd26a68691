import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { redirect } from '../platform/htmx.ts';
import type { Locale } from '../platform/i18n/index.ts';
import { CURRENCIES, currencyName, isCurrency, type ShopCurrency } from './currency.ts';

type Body = Record<string, string | undefined>;

/** Settings › Shop (admins): the shop's currency, which every amount is shown in. */
export function shopSettingsRoutes(deps: { readonly currency: ShopCurrency }) {
  const page = (reply: FastifyReply, locale: Locale, extra: Record<string, unknown> = {}, status?: number) => {
    const c = deps.currency;
    const name = (code: string) => currencyName(locale, code);
    return reply.view(
      'settings/shop',
      {
        currencies: CURRENCIES.map((code) => ({ code, name: name(code) })),
        current: { code: c.current(), name: name(c.current()), saved: c.savedCurrency() !== null },
        fallback: { code: c.fallback, name: name(c.fallback), locale: c.locale },
        values: { currency: c.savedCurrency() ?? '' },
        errors: {},
        ...extra,
      },
      status,
    );
  };

  return async (app: FastifyInstance) => {
    app.get('/settings/shop', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Querystring: { saved?: string } }>, reply) => page(reply, req.locale, { saved: req.query.saved === '1' }));

    app.post('/settings/shop', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Body: Body }>, reply) => {
      const raw = (req.body?.currency ?? '').trim().toUpperCase();
      if (raw !== '' && !isCurrency(raw)) {
        return page(reply, req.locale, { values: { currency: raw }, errors: { currency: 'shop.currency.invalid' } }, 422);
      }
      await deps.currency.save(raw === '' ? null : raw);
      req.log.info({ currency: raw || null }, 'shop currency saved');
      return redirect(req, reply, '/settings/shop?saved=1');
    });
  };
}
