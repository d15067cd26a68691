import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ChatsPorts } from '../ports.ts';
import { can } from '../../auth/permissions.ts';
import { wantsFragment } from '../../platform/htmx.ts';
import { chatHelpers } from '../chats.view.ts';
import { loadHovercard } from './hovercard.service.ts';

type Q = { phone?: string; client_id?: string };

/**
 * GET /hovercard: the card shown next to a phone number in the CRM lists (J1–J4). Lists render
 * only the phone's attributes; the card is fetched once, when the pointer rests on the number
 * or the keyboard focuses it, so list pages cost nothing more (P5).
 */
export function hovercardRoutes(deps: ChatsPorts) {
  return async (app: FastifyInstance) => {
    app.get('/hovercard', { config: { access: 'login' } }, async (req: FastifyRequest<{ Querystring: Q }>, reply) => {
      const card = await loadHovercard(deps, req.auth!, req.query);
      if (!wantsFragment(req) && can(req.auth, 'clients')) {
        // Opened as a page: the client card, or the clients with this number.
        const to = card.client ? `/clients/${card.client.id}` : `/clients?q=${encodeURIComponent(card.phone)}`;
        return reply.redirect(to, 303);
      }
      return reply.view('chats/clients/_hovercard', { card, h: chatHelpers(req.t) });
    });
  };
}
