// Customer-side web UI routes. Plain HTML forms (POST → redirect back), so it works without
// JavaScript; the small script only refreshes the conversation.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ControlError } from '../context.ts';
import type { CustomerMessageInput } from '../customer.ts';
import type { EmulatorCore } from '../emulator.ts';
import { MultipartPayload } from '../http.ts';
import { CSS, JS } from './assets.ts';
import { html, page } from './html.ts';
import { chatPage, homePage, logPage, messagesFragment, postsPage } from './pages.ts';

function fields(request: FastifyRequest): Record<string, string> {
  const body = request.body;
  if (body instanceof MultipartPayload) return body.fields;
  const out: Record<string, string> = {};
  if (body && typeof body === 'object') {
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) out[k] = Array.isArray(v) ? String(v[0]) : String(v ?? '');
  }
  return out;
}

function chatUrl(channel: string, person: string, flash?: string): string {
  return `/ui/chat?channel=${encodeURIComponent(channel)}&person=${encodeURIComponent(person)}${flash ? `&flash=${encodeURIComponent(flash)}` : ''}`;
}

export function registerUiRoutes(app: FastifyInstance, core: EmulatorCore): void {
  const sendHtml = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).header('content-type', 'text/html; charset=utf-8').header('x-content-type-options', 'nosniff').header('x-frame-options', 'DENY').send(body);
  const guard =
    (fn: (request: FastifyRequest, reply: FastifyReply) => unknown) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      try {
        return await fn(request, reply);
      } catch (err) {
        if (err instanceof ControlError) return sendHtml(reply, page('Error', html`<section class="card"><h1>${err.message}</h1><p><a href="/ui">Back</a></p></section>`), err.status);
        throw err;
      }
    };

  app.get('/ui/assets/app.css', async (_r, reply) => reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'max-age=60').send(CSS));
  app.get('/ui/assets/app.js', async (_r, reply) => reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'max-age=60').send(JS));

  app.get(
    '/ui',
    guard((_r, reply) => sendHtml(reply, homePage(core))),
  );
  app.get(
    '/ui/log',
    guard((_r, reply) => sendHtml(reply, logPage(core))),
  );
  app.get(
    '/ui/posts',
    guard((r, reply) => sendHtml(reply, postsPage(core, (r.query as Record<string, string | undefined>).person))),
  );

  app.get(
    '/ui/chat',
    guard((r, reply) => {
      const q = r.query as Record<string, string | undefined>;
      return sendHtml(reply, chatPage(core, core.channel(q.channel ?? ''), core.person(q.person ?? ''), q.flash));
    }),
  );
  app.get(
    '/ui/chat/messages',
    guard((r, reply) => {
      const q = r.query as Record<string, string | undefined>;
      const channel = core.channel(q.channel ?? '');
      const person = core.person(q.person ?? '');
      return sendHtml(reply, messagesFragment(channel, person, core.thread(channel.id, person.id)));
    }),
  );
  app.post(
    '/ui/chat/send',
    guard((r, reply) => {
      const f = fields(r);
      const channel = f.channel ?? '';
      const person = f.person ?? '';
      const upload = r.body instanceof MultipartPayload ? r.body.files.file : undefined;
      const input: CustomerMessageInput = { text: f.text?.trim() ? f.text : undefined, sticker: f.sticker === '1', quickReplyPayload: f.quickReplyPayload || undefined };
      if (upload?.data.length) input.attachment = { bytes: upload.data, filename: upload.filename || 'upload.bin', mimeType: upload.contentType };
      else if (f.sample) input.attachment = { sample: f.sample };
      if (input.attachment && input.text && core.channel(channel).platform !== 'whatsapp') {
        // Messenger/IG carry text and media as separate messages.
        core.send(person, channel, { text: input.text });
        input.text = undefined;
      }
      try {
        core.send(person, channel, input);
      } catch (err) {
        if (err instanceof ControlError) return reply.redirect(chatUrl(channel, person, err.message), 303);
        throw err;
      }
      return reply.redirect(chatUrl(channel, person), 303);
    }),
  );
  app.post(
    '/ui/chat/read',
    guard((r, reply) => {
      const f = fields(r);
      core.read(f.person ?? '', f.channel ?? '');
      if (r.headers['sec-fetch-mode'] === 'cors' || r.headers.accept === '*/*') return reply.send({ ok: true });
      return reply.redirect(chatUrl(f.channel ?? '', f.person ?? ''), 303);
    }),
  );
  app.post(
    '/ui/chat/react',
    guard((r, reply) => {
      const f = fields(r);
      const thread = core.thread(f.channel ?? '', f.person ?? '');
      const current = thread?.messages.find((m) => m.id === f.messageId)?.reactions.find((x) => x.by === 'customer');
      // Clicking the same reaction again removes it (unreact).
      core.react(f.person ?? '', f.messageId ?? '', current?.emoji === f.emoji ? null : (f.emoji ?? '❤️'));
      return reply.redirect(chatUrl(f.channel ?? '', f.person ?? ''), 303);
    }),
  );
  app.post(
    '/ui/chat/unsend',
    guard((r, reply) => {
      const f = fields(r);
      core.unsend(f.person ?? '', f.messageId ?? '');
      return reply.redirect(chatUrl(f.channel ?? '', f.person ?? ''), 303);
    }),
  );
  app.post(
    '/ui/posts/comment',
    guard((r, reply) => {
      const f = fields(r);
      core.comment(f.person ?? '', f.postId ?? '', f.text ?? '', f.parentId || undefined);
      return reply.redirect(`/ui/posts?person=${encodeURIComponent(f.person ?? '')}`, 303);
    }),
  );
  app.post(
    '/ui/posts',
    guard((r, reply) => {
      const f = fields(r);
      core.createPost(f.channel ?? '', f.text ?? '');
      return reply.redirect('/ui/posts', 303);
    }),
  );
  app.post(
    '/ui/people',
    guard((r, reply) => {
      const f = fields(r);
      core.createPerson({ name: f.name ?? '', phone: f.phone || undefined, username: f.username || undefined, hiddenProfile: f.hiddenProfile === '1' });
      return reply.redirect('/ui', 303);
    }),
  );
  app.post(
    '/ui/people/:id/toggle-hidden',
    guard((r, reply) => {
      const id = (r.params as { id: string }).id;
      core.updatePerson(id, { hiddenProfile: !core.person(id).hiddenProfile });
      return reply.redirect('/ui', 303);
    }),
  );
  app.post(
    '/ui/clock',
    guard((r, reply) => {
      const f = fields(r);
      if (f.reset) core.setClock(Date.now());
      else if (f.advance) core.advanceClock(f.advance);
      return reply.redirect('/ui', 303);
    }),
  );
  app.post(
    '/ui/chaos',
    guard((r, reply) => {
      core.setChaos({ enabled: fields(r).enabled === '1' });
      return reply.redirect('/ui', 303);
    }),
  );
  app.post(
    '/ui/webhooks/verify',
    guard(async (_r, reply) => {
      const results = await core.verifyWebhooks();
      const body = html`<section class="card"><h1>Verification handshake</h1>${
        results.length
          ? results.map((res) => html`<p><code>${res.url}</code> (${res.objects.join(', ')}): <span class="badge ${res.ok ? 'ok' : 'bad'}">${res.ok ? 'verified' : (res.error ?? 'failed')}</span></p>`)
          : html`<p>No callback URL configured.</p>`
      }<p><a href="/ui">Back</a></p></section>`;
      return sendHtml(reply, page('Verification', body));
    }),
  );
}
