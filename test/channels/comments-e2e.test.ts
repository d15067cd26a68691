// Post comments end to end against the emulator (F1, F2; meta-platform.md §2.8, §3.3): a comment
// arrives in the commenter's chat with its post, is answered publicly (three times), privately
// (once), hidden and shown again; the shop's own comments are its replies, not new items; with
// the setting off nothing arrives; an employee without the channel sees none of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, login, makeEmployee, type Session } from '../helpers.ts';
import { IG_ID, PAGE_ID, startMetaWorld, type MetaWorld } from '../support/meta-world.ts';
import { LiveStreams } from '../platform/sse.ts';
import { setChannelAccess, updateChannel } from '../../src/channels/channels.repository.ts';
import { createClient } from '../../src/crm/clients.service.ts';

const FB_POST = '104455667788990_122134455667788';
const IG_MEDIA = '18011223344556677';

let w: MetaWorld;
let agent: Session;
let outsider: Session;
const live = new LiveStreams(() => w.parleyUrl);

beforeAll(async () => {
  w = await startMetaWorld({ settings: { comments: true, humanAgent: true } });
  const a = await makeEmployee(w.t.deps, { role: 'agent', email: 'comments-agent@shop.test', name: 'Cora Agent' });
  const b = await makeEmployee(w.t.deps, { role: 'agent', email: 'comments-outsider@shop.test', name: 'Oscar Outsider' });
  for (const id of [w.messengerId, w.instagramId]) {
    await updateChannel(w.t.deps.db, id, { accessAll: false });
    await setChannelAccess(w.t.deps.db, id, [a.id]);
  }
  agent = await login(w.t.app, a.email);
  outsider = await login(w.t.app, b.email);
});
afterAll(async () => {
  live.closeAll();
  await w?.close();
});

const db = () => w.t.deps.db;
const commentRow = (externalId: string) => db().selectFrom('messages').selectAll().where('external_id', '=', externalId).executeTakeFirst();
const outComments = (chatId: number) => db().selectFrom('messages').selectAll().where('chat_id', '=', chatId).where('direction', '=', 'out').orderBy('id').execute();

describe('a Facebook comment', () => {
  let commentId: string;
  let chatId: number;

  it('arrives live, unread, in the commenter’s Messenger chat, with its post', async () => {
    const [mine, theirs] = [await live.open(agent), await live.open(outsider)];
    const c = w.emu.comment('marc', FB_POST, 'Combien pour changer un écran ?');
    commentId = c.id;
    await w.settle();
    const m = (await commentRow(commentId))!;
    expect(m).toMatchObject({ kind: 'comment', direction: 'in', text: 'Combien pour changer un écran ?', channel_id: w.messengerId });
    chatId = m.chat_id;
    const chat = await db()
      .selectFrom('chats')
      .innerJoin('contacts', 'contacts.id', 'chats.contact_id')
      .select(['chats.indicator', 'contacts.external_id', 'contacts.name'])
      .where('chats.id', '=', chatId)
      .executeTakeFirstOrThrow();
    expect(chat).toEqual({ indicator: 'unread', external_id: w.emu.scopedId('marc', 'messenger'), name: 'Marc Dubois' });
    expect(m.meta).toMatchObject({ postId: FB_POST, post: { text: expect.stringContaining('Spring prices'), url: expect.stringContaining(FB_POST) } });
    // A comment does not open a messaging window (§3.3): the chat's free-text composer stays
    // closed while a public reply is possible.
    const lastInbound = await db().selectFrom('chats').select('last_inbound_at').where('id', '=', chatId).executeTakeFirstOrThrow();
    expect(lastInbound.last_inbound_at).toBeNull();
    await mine.waitFor('ui', 'Combien pour changer un écran ?');
    const page = await as(w.t.app, agent).get(`/chats/${chatId}`);
    expect(page.body).toContain('message--comment');
    expect(page.body).toContain('Spring prices');
    expect(page.body).toContain(`href="/chats/${chatId}?reply_to=${m.id}"`);
    // The outsider may not use the channel: nothing of it, anywhere.
    expect(theirs.events.some((e) => e.data.includes('Combien pour changer'))).toBe(false);
    expect((await as(w.t.app, outsider).get(`/chats/${chatId}`)).statusCode).toBe(404);
    expect((await as(w.t.app, outsider).get('/chats')).body).not.toContain('Combien pour changer');
    expect((await as(w.t.app, outsider).get('/chats?q=' + encodeURIComponent('changer un écran'))).body).not.toContain(`id="chat-${chatId}"`);
    expect((await as(w.t.app, outsider).post(`/chats/${chatId}/messages`, { text: 'x', reply_to: String(m.id), idempotency_key: 'c-outsider-1' })).statusCode).toBe(404);
    expect((await as(w.t.app, outsider).post(`/chats/${chatId}/messages/${m.id}/moderate`, { hidden: '1' })).statusCode).toBe(404);
    // The hover card of the client the chat is linked to lists the chat for Cora, not for Oscar.
    const clientId = await createClient(db(), { name: 'Marc (card)', phones: ['+33 6 12 34 56 78'] });
    await db().updateTable('chats').set({ client_id: clientId }).where('id', '=', chatId).execute();
    const card = (s: Session) => as(w.t.app, s).get('/hovercard?phone=' + encodeURIComponent('+33612345678'), { 'hx-request': 'true' });
    expect((await card(agent)).body).toContain(`/chats/${chatId}`);
    const hers = await card(outsider);
    expect(hers.statusCode).toBe(200);
    expect(hers.body).not.toContain(`/chats/${chatId}`);
    expect(hers.body).not.toContain('Combien pour changer');
  });

  it('three public replies under it, through the outbox; the platform’s echoes are not doubled', async () => {
    const m = (await commentRow(commentId))!;
    const composer = await as(w.t.app, agent).get(`/chats/${chatId}/composer?reply_to=${m.id}`, { 'hx-request': 'true' });
    expect(composer.body).toContain('Replying publicly to Marc Dubois’s comment on “Spring prices');
    expect(composer.body).toContain('Messaging windows do not apply.');
    for (const [i, text] of ['89 € l’écran.', 'Comptez 40 minutes.', 'Passez quand vous voulez !'].entries()) {
      const res = await as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text, reply_to: String(m.id), comment_reply: 'public', idempotency_key: `c-public-${i}-0000` });
      expect(res.statusCode).toBe(303);
    }
    await w.settle();
    const calls = w.emu.calls({ pathIncludes: `/${commentId}/comments`, method: 'POST' });
    expect(calls).toHaveLength(3);
    const outs = (await outComments(chatId)).filter((o) => o.kind === 'comment');
    expect(outs.map((o) => [o.text, o.status, o.reply_to_message_id])).toEqual([
      ['89 € l’écran.', 'sent', m.id],
      ['Comptez 40 minutes.', 'sent', m.id],
      ['Passez quand vous voulez !', 'sent', m.id],
    ]);
    const onPost = w.emu.posts('messenger').find((p) => p.id === FB_POST)!;
    // Three submits are three jobs, sent side by side: the platform may list them in any order.
    expect(
      onPost.comments
        .filter((c) => c.parentId === commentId)
        .map((c) => c.text)
        .sort(),
    ).toEqual(['89 € l’écran.', 'Comptez 40 minutes.', 'Passez quand vous voulez !'].sort());
  });

  it('a reply whose first attempt reached Facebook (its answer lost) is not posted again', async () => {
    const m = (await commentRow(commentId))!;
    // The first attempt got through: the reply is under the comment, Parley never heard back.
    const r = await fetch(`${w.emu.graphUrl}/${commentId}/comments`, {
      method: 'POST',
      headers: { authorization: 'Bearer EAAEMUpage104455667788990', 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Réponse perdue en route' }),
    });
    const { id: landed } = (await r.json()) as { id: string };
    await w.settle();
    // The shop's own comment came back through `feed` as an echo row: take it away, as if the
    // echo had not arrived yet, and leave Parley's message queued with its attempt noted.
    await db().deleteFrom('messages').where('external_id', '=', landed).execute();
    const queued = await db()
      .insertInto('messages')
      .values({
        chat_id: chatId,
        channel_id: w.messengerId,
        direction: 'out',
        kind: 'comment',
        text: 'Réponse perdue en route',
        status: 'queued',
        sort_at: new Date(),
        reply_to_message_id: m.id,
        idempotency_key: 'c-lost-answer-1',
        meta: JSON.stringify({ publicReplyTo: commentId, sendAttemptedAt: new Date().toISOString() }),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const posts = () => w.emu.calls({ pathIncludes: `/${commentId}/comments`, method: 'POST' }).length;
    const before = posts();
    await w.t.deps.queue.enqueue(w.t.deps.jobs.sendMessage, { messageId: queued.id });
    await w.settle();
    expect(posts()).toBe(before);
    expect(await db().selectFrom('messages').select(['status', 'external_id']).where('id', '=', queued.id).executeTakeFirstOrThrow()).toEqual({ status: 'sent', external_id: landed });
  });

  it('a reply made on Facebook by the Page appears as the shop’s reply; the commenter’s answer to it quotes it', async () => {
    const m = (await commentRow(commentId))!;
    const pageToken = 'EAAEMUpage104455667788990';
    const r = await fetch(`${w.emu.graphUrl}/${commentId}/comments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pageToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Réponse depuis Facebook' }),
    });
    const { id: pageReplyId } = (await r.json()) as { id: string };
    await w.settle();
    const echo = (await commentRow(pageReplyId))!;
    expect(echo).toMatchObject({ direction: 'out', kind: 'comment', chat_id: chatId, reply_to_message_id: m.id, sender_employee_id: null });
    w.emu.comment('marc', FB_POST, 'Merci, à demain !', pageReplyId);
    await w.settle();
    const answer = await db().selectFrom('messages').selectAll().where('text', '=', 'Merci, à demain !').executeTakeFirstOrThrow();
    expect(answer).toMatchObject({ direction: 'in', kind: 'comment', chat_id: chatId, reply_to_message_id: echo.id });
    expect(answer.meta).toMatchObject({ replyTo: { id: echo.id, text: 'Réponse depuis Facebook' } });
  });

  it('one private reply per comment: the first goes to Messenger, the second is refused (and 10900 from the platform is explained)', async () => {
    const m = (await commentRow(commentId))!;
    const first = await as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text: 'Je vous écris en privé.', reply_to: String(m.id), comment_reply: 'private', idempotency_key: 'c-private-0001' });
    expect(first.statusCode).toBe(303);
    await w.settle();
    const sent = w.emu.calls({ pathIncludes: '/messages', method: 'POST' }).filter((c) => JSON.stringify(c.body).includes('comment_id'));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ recipient: { comment_id: commentId } });
    const privateMsg = (await outComments(chatId)).find((o) => o.text === 'Je vous écris en privé.')!;
    expect(privateMsg).toMatchObject({ kind: 'text', reply_to_message_id: m.id });
    expect(['sent', 'delivered', 'read']).toContain(privateMsg.status);
    // Two at once (two tabs, each past the first check): only one is queued.
    await db()
      .updateTable('messages')
      .set({ meta: JSON.stringify({ ...(m.meta as object), privateReplyMessageId: null }) })
      .where('id', '=', m.id)
      .execute();
    const racing = await Promise.all(
      ['c-private-race1', 'c-private-race2'].map((k) =>
        as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text: 'En même temps', reply_to: String(m.id), comment_reply: 'private', idempotency_key: k }),
      ),
    );
    expect(racing.map((r) => r.statusCode).sort()).toEqual([303, 422]);
    await w.settle();
    expect((await outComments(chatId)).filter((o) => o.text === 'En même temps')).toHaveLength(1);
    const again = await as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text: 'Encore ?', reply_to: String(m.id), comment_reply: 'private', idempotency_key: 'c-private-0002' });
    expect(again.statusCode).toBe(422);
    expect(again.body).toContain('already been answered privately');
    const composer = await as(w.t.app, agent).get(`/chats/${chatId}/composer?reply_to=${m.id}&private=1`, { 'hx-request': 'true' });
    expect(composer.body).toContain('already been answered privately');
    expect(composer.body).toMatch(/<textarea[^>]* disabled/);
    // Parley forgot (a restore from backup): the platform's own refusal says the same.
    await db()
      .updateTable('messages')
      .set({ meta: JSON.stringify({ ...(m.meta as object), privateReplyMessageId: null }) })
      .where('id', '=', m.id)
      .execute();
    await as(w.t.app, agent).post(`/chats/${chatId}/messages`, { text: 'Troisième essai', reply_to: String(m.id), comment_reply: 'private', idempotency_key: 'c-private-0003' });
    await w.settle();
    expect((await outComments(chatId)).find((o) => o.text === 'Troisième essai')).toMatchObject({ status: 'failed', status_reason: 'i18n:chats.error.private_reply_used' });
  });

  it('hide and unhide on the platform from the thread', async () => {
    const m = (await commentRow(commentId))!;
    const res = await as(w.t.app, agent).post(`/chats/${chatId}/messages/${m.id}/moderate`, { hidden: '1' }, { headers: { 'hx-request': 'true' } });
    expect(res.statusCode).toBe(204);
    const onPlatform = () =>
      w.emu
        .posts('messenger')
        .find((p) => p.id === FB_POST)!
        .comments.find((c) => c.id === commentId)!;
    expect(onPlatform().hidden).toBe(true);
    expect((await commentRow(commentId))!.meta).toMatchObject({ hidden: true });
    const page = await as(w.t.app, agent).get(`/chats/${chatId}`);
    expect(page.body).toContain('Hidden on the platform');
    expect(page.body).toContain('data-action="unhide"');
    await as(w.t.app, agent).post(`/chats/${chatId}/messages/${m.id}/moderate`, { hidden: '0' }, { headers: { 'hx-request': 'true' } });
    expect(onPlatform().hidden).toBe(false);
    expect((await commentRow(commentId))!.meta).toMatchObject({ hidden: false });
  });
});

describe('an Instagram comment', () => {
  it('arrives in the commenter’s DM chat (by IGSID) and is answered with /replies', async () => {
    w.emu.send('anna', 'instagram', 'Bonjour !');
    const c = w.emu.comment('anna', IG_MEDIA, 'Prix pour la batterie ?');
    await w.settle();
    const m = (await commentRow(c.id))!;
    const dm = await db().selectFrom('messages').select('chat_id').where('text', '=', 'Bonjour !').executeTakeFirstOrThrow();
    expect(m).toMatchObject({ kind: 'comment', chat_id: dm.chat_id, channel_id: w.instagramId });
    expect(m.meta).toMatchObject({ postId: IG_MEDIA, mediaType: 'REELS', post: { text: expect.stringContaining('cracked screen') } });
    await as(w.t.app, agent).post(`/chats/${m.chat_id}/messages`, { text: '49 €', reply_to: String(m.id), idempotency_key: 'ig-reply-0001', comment_reply: 'public' });
    await w.settle();
    expect(w.emu.calls({ pathIncludes: `/${c.id}/replies`, method: 'POST' })).toHaveLength(1);
    expect((await outComments(m.chat_id)).filter((o) => o.kind === 'comment').map((o) => [o.text, o.status])).toEqual([['49 €', 'sent']]);
    void IG_ID;
    void PAGE_ID;
  });
});

describe('with the setting off', () => {
  it('comments do not reach the chats (they are acknowledged and dropped)', async () => {
    const w2 = await startMetaWorld({ settings: { comments: false } });
    try {
      w2.emu.comment('marc', FB_POST, 'Personne ne verra ceci');
      await w2.settle();
      expect(await w2.t.deps.db.selectFrom('messages').select('id').where('kind', '=', 'comment').execute()).toEqual([]);
      const inbox = await w2.t.deps.db.selectFrom('webhook_inbox').select('processed_at').execute();
      expect(inbox.length).toBeGreaterThan(0);
      for (const d of inbox) expect(d.processed_at).not.toBeNull();
    } finally {
      await w2.close();
    }
  });
});
