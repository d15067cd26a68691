import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import type { ChatsPorts } from './ports.ts';
import { chatHelpers } from './chats.view.ts';
import { threadRoutes } from './thread/thread.routes.ts';
import { composerKit, composerRoutes, MAX_TEMPLATE_PARAMS } from './composer/composer.routes.ts';
import { chatsPage, inboxRoutes } from './inbox/inbox.routes.ts';

/**
 * The Chats page (C1–C8, D1–D2, E1–E2, I1–I3): one plugin whose routes each concept declares
 * (inbox/ the list and the pane, thread/ older messages and moderation, composer/ sends and notes).
 */
export function chatsRoutes(deps: ChatsPorts) {
  const composer = composerKit(deps);
  const page = chatsPage(deps, composer);

  return async (app: FastifyInstance) => {
    // The composer may carry one file (a photo or a document) next to the text.
    await app.register(fastifyMultipart, { attachFieldsToBody: true, limits: { fileSize: 26 * 1024 * 1024, files: 1, fields: 10 + MAX_TEMPLATE_PARAMS } });

    // Every template of this feature gets the chat helpers as `it.h`.
    app.addHook('preHandler', async (req) => {
      (req as FastifyRequest & { viewExtras?: Record<string, unknown> }).viewExtras = { h: chatHelpers(req.t) };
    });

    inboxRoutes(app, deps, page);
    threadRoutes(app, deps);
    composerRoutes(app, deps, composer, page);
  };
}
