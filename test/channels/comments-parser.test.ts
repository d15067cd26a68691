// Unit tests of how the Meta webhook normalizer turns post-comment changes into events: Page
// `feed` changes (meta-platform.md §2.8), Instagram `comments` / `live_comments` (§3.3) and the
// comment cases of the conformance list (§10.15). Payloads follow the documents' shapes.
import { describe, expect, it } from 'vitest';
import { parseMetaWebhook, type ParsedEntry } from '../../src/channels/meta/webhook-parser.ts';

const PAGE = '104455667788990';
const POST = '104455667788990_122134455667788';
const POST_URL = 'https://www.facebook.com/104455667788990/posts/122134455667788';
const COMMENT = '122134455667788_998877665544';
const REPLY = '122134455667788_998877665599';
const FAN = '6543210987654321';
const PSID = '7012345678901234';

const IG = '17841400011122233';
const IGSID = '1203948576102938';
const MEDIA = '18011223344556677';
const IG_COMMENT = '18034455667788990';

/** One Page delivery with the given `feed` values (entry.time in seconds, as in §2.8). */
const feed = (...values: unknown[]) => ({ object: 'page', entry: [{ id: PAGE, time: 1767611000, changes: values.map((value) => ({ field: 'feed', value })) }] });
/** One Instagram delivery with the given comment values. */
const ig = (field: 'comments' | 'live_comments', values: unknown[], time = 1767613000) => ({
  object: 'instagram',
  entry: [{ id: IG, time, changes: values.map((value) => ({ field, value })) }],
});

const one = (body: unknown): ParsedEntry => {
  const parsed = parseMetaWebhook(body);
  expect(parsed).not.toBeNull();
  expect(parsed!.entries).toHaveLength(1);
  return parsed!.entries[0]!;
};

/** A top-level comment under the post, as §2.8 writes it (plus the post's permalink). */
const topLevel = {
  item: 'comment',
  verb: 'add',
  post_id: POST,
  comment_id: COMMENT,
  parent_id: POST,
  from: { id: FAN, name: 'Ирина К.' },
  message: 'Есть размер M?',
  created_time: 1767610998,
  post: { id: POST, status_type: 'added_photos', is_published: true, permalink_url: POST_URL },
};

describe('Page feed comments (§2.8)', () => {
  it('a top-level comment is an inbound comment of its author, with the post and its link', () => {
    expect(one(feed(topLevel))).toEqual({
      accountId: PAGE,
      ignored: 0,
      events: [
        {
          type: 'message',
          channelExternalId: PAGE,
          contactExternalId: FAN,
          direction: 'in',
          externalId: COMMENT,
          timestamp: new Date(1767610998 * 1000),
          kind: 'comment',
          text: 'Есть размер M?',
          contactName: 'Ирина К.',
          meta: { postId: POST, postUrl: POST_URL },
        },
      ],
    });
  });

  it('a reply to a comment names its parent comment (parent_id ≠ post_id)', () => {
    const e = one(
      feed({
        item: 'comment',
        verb: 'add',
        post_id: POST,
        comment_id: REPLY,
        parent_id: COMMENT,
        from: { id: FAN, name: 'Ирина К.' },
        message: 'А в синем?',
        created_time: 1767611100,
        post: { id: POST, status_type: 'added_photos', is_published: true },
      }),
    );
    expect(e.ignored).toBe(0);
    expect(e.events).toEqual([
      {
        type: 'message',
        channelExternalId: PAGE,
        contactExternalId: FAN,
        direction: 'in',
        externalId: REPLY,
        timestamp: new Date(1767611100 * 1000),
        kind: 'comment',
        text: 'А в синем?',
        contactName: 'Ирина К.',
        replyToExternalId: COMMENT,
        meta: { postId: POST, parentCommentId: COMMENT },
      },
    ]);
  });

  it('verb edited: an edit of the comment (comment: true) with its new text', () => {
    const e = one(feed({ ...topLevel, verb: 'edited', message: 'Есть размер L?', created_time: 1767611200 }));
    expect(e.ignored).toBe(0);
    expect(e.events).toEqual([{ type: 'edited', channelExternalId: PAGE, contactExternalId: FAN, externalId: COMMENT, text: 'Есть размер L?', timestamp: new Date(1767611200 * 1000), comment: true }]);
  });

  it('verb remove: the comment is deleted (comment: true)', () => {
    const { message: _m, post: _p, ...removed } = topLevel;
    const e = one(feed({ ...removed, verb: 'remove', created_time: 1767611300 }));
    expect(e.ignored).toBe(0);
    expect(e.events).toEqual([{ type: 'deleted', channelExternalId: PAGE, contactExternalId: FAN, externalId: COMMENT, timestamp: new Date(1767611300 * 1000), comment: true }]);
  });

  it('the enum spellings edit / delete read like edited / remove', () => {
    const e = one(feed({ ...topLevel, verb: 'edit', message: 'v2', created_time: 1767611210 }, { ...topLevel, verb: 'delete', created_time: 1767611310 }));
    expect(e.ignored).toBe(0);
    expect(e.events).toEqual([
      { type: 'edited', channelExternalId: PAGE, contactExternalId: FAN, externalId: COMMENT, text: 'v2', timestamp: new Date(1767611210 * 1000), comment: true },
      { type: 'deleted', channelExternalId: PAGE, contactExternalId: FAN, externalId: COMMENT, timestamp: new Date(1767611310 * 1000), comment: true },
    ]);
  });

  it('verbs hide / unhide: the comment is moderated (hidden true, then false)', () => {
    const e = one(feed({ ...topLevel, verb: 'hide', created_time: 1767611400 }, { ...topLevel, verb: 'unhide', created_time: 1767611500 }));
    expect(e.ignored).toBe(0);
    expect(e.events).toEqual([
      { type: 'moderated', channelExternalId: PAGE, externalId: COMMENT, hidden: true, timestamp: new Date(1767611400 * 1000) },
      { type: 'moderated', channelExternalId: PAGE, externalId: COMMENT, hidden: false, timestamp: new Date(1767611500 * 1000) },
    ]);
  });

  it('the Page’s own comment and own reply (from.id = Page id) are the shop’s: out, no contact, no name', () => {
    const own = { id: PAGE, name: 'Магазин Ирины' };
    const e = one(
      feed(
        { item: 'comment', verb: 'add', post_id: POST, comment_id: '122134455667788_111', parent_id: POST, from: own, message: 'Новая коллекция!', created_time: 1767611600 },
        { item: 'comment', verb: 'add', post_id: POST, comment_id: '122134455667788_222', parent_id: COMMENT, from: own, message: 'Да, есть 🙂', created_time: 1767611700 },
      ),
    );
    expect(e.ignored).toBe(0);
    expect(e.events).toEqual([
      {
        type: 'message',
        channelExternalId: PAGE,
        contactExternalId: '',
        direction: 'out',
        externalId: '122134455667788_111',
        timestamp: new Date(1767611600 * 1000),
        kind: 'comment',
        text: 'Новая коллекция!',
        meta: { postId: POST },
      },
      {
        type: 'message',
        channelExternalId: PAGE,
        contactExternalId: '',
        direction: 'out',
        externalId: '122134455667788_222',
        timestamp: new Date(1767611700 * 1000),
        kind: 'comment',
        text: 'Да, есть 🙂',
        replyToExternalId: COMMENT,
        meta: { postId: POST, parentCommentId: COMMENT },
      },
    ]);
  });

  it('a comment without `from` (no author to put it under) is skipped and counted', () => {
    const { from: _f, ...anonymous } = topLevel;
    const e = one(feed(anonymous, { ...topLevel, from: {} }));
    expect(e).toEqual({ accountId: PAGE, events: [], ignored: 2 });
  });

  it('other feed items (status, reaction, post) are counted as ignored, never thrown on', () => {
    const body = feed(
      { item: 'status', verb: 'add', post_id: POST, from: { id: PAGE, name: 'Магазин' }, message: 'Мы открылись', created_time: 1767611800, published: 1 },
      { item: 'reaction', verb: 'add', reaction_type: 'like', post_id: POST, comment_id: COMMENT, parent_id: POST, from: { id: FAN, name: 'Ирина К.' }, created_time: 1767611900 },
      { item: 'post', verb: 'remove', post_id: POST, from: { id: PAGE }, created_time: 1767612000 },
      { item: 'photo', verb: 'add', post_id: POST, photo_id: '555', link: 'https://example.com/p.jpg' },
    );
    let parsed: ReturnType<typeof parseMetaWebhook> = null;
    expect(() => (parsed = parseMetaWebhook(body))).not.toThrow();
    expect(parsed).toEqual({ object: 'page', entries: [{ accountId: PAGE, events: [], ignored: 4 }] });
  });

  it('a null change, a change without a value and a field Parley does not read are counted', () => {
    const body = {
      object: 'page',
      entry: [
        {
          id: PAGE,
          time: 1767611000,
          changes: [null, { field: 'feed' }, { field: 'feed', value: null }, { field: 'mention', value: { item: 'comment', verb: 'add', comment_id: COMMENT, post_id: POST } }, 'x'],
        },
      ],
    };
    let parsed: ReturnType<typeof parseMetaWebhook> = null;
    expect(() => (parsed = parseMetaWebhook(body))).not.toThrow();
    expect(parsed).toEqual({ object: 'page', entries: [{ accountId: PAGE, events: [], ignored: 5 }] });
  });
});

describe('Instagram comments (§3.3)', () => {
  it('a comment on a REELS media: inbound, username kept, the media type in meta', () => {
    const e = one(ig('comments', [{ id: IG_COMMENT, from: { id: IGSID, username: 'irina.k' }, text: 'Сколько стоит?', media: { id: MEDIA, media_product_type: 'REELS' } }]));
    expect(e).toEqual({
      accountId: IG,
      ignored: 0,
      events: [
        {
          type: 'message',
          channelExternalId: IG,
          contactExternalId: IGSID,
          direction: 'in',
          externalId: IG_COMMENT,
          timestamp: new Date(1767613000 * 1000),
          kind: 'comment',
          text: 'Сколько стоит?',
          contactUsername: 'irina.k',
          meta: { postId: MEDIA, mediaType: 'REELS' },
        },
      ],
    });
  });

  it('a reply (parent_id) quotes its parent comment', () => {
    const e = one(
      ig('comments', [{ id: '18034455667700001', from: { id: IGSID, username: 'irina.k' }, text: 'И доставка?', media: { id: MEDIA, media_product_type: 'FEED' }, parent_id: IG_COMMENT }]),
    );
    expect(e.events).toEqual([
      {
        type: 'message',
        channelExternalId: IG,
        contactExternalId: IGSID,
        direction: 'in',
        externalId: '18034455667700001',
        timestamp: new Date(1767613000 * 1000),
        kind: 'comment',
        text: 'И доставка?',
        contactUsername: 'irina.k',
        replyToExternalId: IG_COMMENT,
        meta: { postId: MEDIA, parentCommentId: IG_COMMENT, mediaType: 'FEED' },
      },
    ]);
  });

  const adComment = {
    id: '18034455667700002',
    from: { id: IGSID, username: 'irina.k' },
    text: 'Цена?',
    media: { id: '18011223344550000', media_product_type: 'FEED' },
    ad_id: '120210000000000001',
    ad_title: 'Весенняя распродажа',
  };
  const adEvent = {
    type: 'message',
    channelExternalId: IG,
    contactExternalId: IGSID,
    direction: 'in',
    externalId: '18034455667700002',
    timestamp: new Date(1767613000 * 1000),
    kind: 'comment',
    text: 'Цена?',
    contactUsername: 'irina.k',
    meta: { postId: '18011223344550000', mediaType: 'FEED', adId: '120210000000000001' },
  };

  it('a comment on an ad: ad_id → meta.adId', () => {
    expect(one(ig('comments', [adComment])).events).toEqual([adEvent]);
  });

  it('an ad comment notified twice in one POST gives identical events (ingest dedups on externalId)', () => {
    const e = one(ig('comments', [adComment, structuredClone(adComment)]));
    expect(e.ignored).toBe(0);
    expect(e.events).toEqual([adEvent, adEvent]);
  });

  it('an ad comment notified in two POSTs gives identical events with the same externalId', () => {
    const first = one(ig('comments', [adComment])).events;
    const again = one(ig('comments', [structuredClone(adComment)])).events;
    expect(first).toEqual([adEvent]);
    expect(again).toEqual(first);
  });

  it('the account’s own reply (from.id = IG account id) is the shop’s: out, no contact, no username', () => {
    const e = one(
      ig('comments', [{ id: '18034455667700003', from: { id: IG, username: 'irina.shop' }, text: 'Написали вам в директ', media: { id: MEDIA, media_product_type: 'REELS' }, parent_id: IG_COMMENT }]),
    );
    expect(e.events).toEqual([
      {
        type: 'message',
        channelExternalId: IG,
        contactExternalId: '',
        direction: 'out',
        externalId: '18034455667700003',
        timestamp: new Date(1767613000 * 1000),
        kind: 'comment',
        text: 'Написали вам в директ',
        replyToExternalId: IG_COMMENT,
        meta: { postId: MEDIA, parentCommentId: IG_COMMENT, mediaType: 'REELS' },
      },
    ]);
  });

  it('live_comments reads like comments', () => {
    const e = one(
      ig('live_comments', [{ id: '18034455667700004', from: { id: IGSID, username: 'irina.k' }, text: '🔥🔥', media: { id: '18011223344559999', media_product_type: 'LIVE' } }], 1767614000),
    );
    expect(e).toEqual({
      accountId: IG,
      ignored: 0,
      events: [
        {
          type: 'message',
          channelExternalId: IG,
          contactExternalId: IGSID,
          direction: 'in',
          externalId: '18034455667700004',
          timestamp: new Date(1767614000 * 1000),
          kind: 'comment',
          text: '🔥🔥',
          contactUsername: 'irina.k',
          meta: { postId: '18011223344559999', mediaType: 'LIVE' },
        },
      ],
    });
  });
});

describe('mixed entries (§1.4)', () => {
  it('an entry with messaging items and changes gives both kinds of events', () => {
    const e = one({
      object: 'page',
      entry: [
        {
          id: PAGE,
          time: 1767611000,
          messaging: [{ sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 1767610999001, message: { mid: 'm_mixed-1', text: 'Здравствуйте' } }],
          changes: [
            { field: 'feed', value: topLevel },
            { field: 'feed', value: { item: 'reaction', verb: 'add', post_id: POST, from: { id: FAN } } },
          ],
        },
      ],
    });
    expect(e).toEqual({
      accountId: PAGE,
      ignored: 1,
      events: [
        {
          type: 'message',
          channelExternalId: PAGE,
          contactExternalId: PSID,
          direction: 'in',
          externalId: 'm_mixed-1',
          timestamp: new Date(1767610999001),
          kind: 'text',
          text: 'Здравствуйте',
          meta: {},
        },
        {
          type: 'message',
          channelExternalId: PAGE,
          contactExternalId: FAN,
          direction: 'in',
          externalId: COMMENT,
          timestamp: new Date(1767610998 * 1000),
          kind: 'comment',
          text: 'Есть размер M?',
          contactName: 'Ирина К.',
          meta: { postId: POST, postUrl: POST_URL },
        },
      ],
    });
  });
});
