import type { FastifyInstance, FastifyRequest } from 'fastify';
import { safeEqual } from '../../platform/crypto.ts';
import type { ChannelsPorts } from '../ports.ts';
import { InboxWriter } from './inbox-writer.ts';
import { verifyMetaSignature } from './signature.ts';
import { processWebhookRef } from '../jobs.refs.ts';

/** Meta batches up to 1000 updates and WhatsApp bodies reach 3 MB (§1.2): 5 MB here only. */
export const WEBHOOK_BODY_LIMIT = 5 * 1024 * 1024;

/**
 * GET/POST /webhooks/meta (Messenger, Instagram, WhatsApp). The POST verifies the signature
 * over the raw bytes, writes the delivery to the inbox table in one short statement, answers
 * 200 and leaves the work to a job (R1: an acknowledged delivery is durable; R6: Redis being
 * down only delays processing, the sweeper enqueues it later).
 */
export function metaWebhookRoutes(deps: Pick<ChannelsPorts, 'config' | 'db' | 'queue'>) {
  const inbox = new InboxWriter(deps.db);
  return async (app: FastifyInstance) => {
    // Raw bytes for the signature: this parser applies to this plugin's routes only.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));

    app.get('/webhooks/meta', { config: { access: 'public' } }, async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
      const mode = req.query['hub.mode'];
      const token = req.query['hub.verify_token'];
      const challenge = req.query['hub.challenge'];
      if (!mode || !token || challenge === undefined) return reply.code(400).type('text/plain').send('missing hub.* parameters');
      const expected = deps.config.meta.verifyToken;
      if (mode !== 'subscribe' || !expected || !safeEqual(token, expected)) {
        req.log.warn('webhook verification refused');
        return reply.code(403).type('text/plain').send('forbidden');
      }
      // Echo the challenge verbatim as text (§1.1): never parse it as a number.
      return reply.code(200).type('text/plain').send(challenge);
    });

    app.post('/webhooks/meta', { config: { access: 'public', csrf: false }, bodyLimit: WEBHOOK_BODY_LIMIT }, async (req, reply) => {
      const raw = req.body as Buffer | undefined;
      const secret = deps.config.meta.appSecret;
      if (!secret) {
        req.log.error('META_APP_SECRET is not set: webhook deliveries cannot be verified and are refused');
        return reply.code(401).send();
      }
      if (!Buffer.isBuffer(raw) || !verifyMetaSignature(raw, req.headers['x-hub-signature-256'], secret)) {
        req.log.warn({ length: raw?.length ?? 0 }, 'webhook signature rejected');
        return reply.code(401).send();
      }
      // PostgreSQL text cannot hold U+0000. A raw NUL byte is never valid JSON (inside a string
      // it must be escaped), so replacing it keeps the body as unparseable as it was: stored,
      // acknowledged, then marked processed as "not JSON" by the job, instead of a 500 every time
      // Meta re-delivers it.
      const text = raw.toString('utf8');
      const id = await inbox.write('meta', text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text);
      reply.code(200).type('text/plain').send('EVENT_RECEIVED');
      deps.queue.enqueue(processWebhookRef, { inboxId: id }).catch((err) => {
        req.log.warn({ inboxId: id, err: (err as Error).message }, 'webhook stored; processing deferred to the sweeper');
      });
      return reply;
    });
  };
}
