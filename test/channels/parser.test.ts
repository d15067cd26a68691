// Unit tests of the Messenger/Instagram webhook normalizer on the payloads written in
// meta-platform.md §2 and §3 (the JSON examples there, copied as they are), plus the shapes of
// §10 that must not crash it.
import { describe, expect, it } from 'vitest';
import { parseMetaWebhook } from '../../src/channels/meta/webhook-parser.ts';

const PAGE = '104455667788990';
const PSID = '7012345678901234';
const IG = '17841400011122233';
const IGSID = '1203948576102938';

const page = (...messaging: unknown[]) => ({ object: 'page', entry: [{ id: PAGE, time: 1767610000123, messaging }] });
const one = (body: unknown) => {
  const parsed = parseMetaWebhook(body);
  expect(parsed).not.toBeNull();
  expect(parsed!.entries).toHaveLength(1);
  return parsed!.entries[0]!;
};

describe('Messenger (§2)', () => {
  it('§2.1 envelope: a text message with Cyrillic', () => {
    const e = one({
      object: 'page',
      entry: [
        {
          id: '104455667788990',
          time: 1767610000123,
          messaging: [
            {
              sender: { id: '7012345678901234' },
              recipient: { id: '104455667788990' },
              timestamp: 1767610000001,
              message: { mid: 'm_AbC123xyz-first', text: 'Здравствуйте, сколько стоит доставка?' },
            },
          ],
        },
      ],
    });
    expect(e.accountId).toBe(PAGE);
    expect(e.ignored).toBe(0);
    expect(e.events).toEqual([
      {
        type: 'message',
        channelExternalId: PAGE,
        contactExternalId: PSID,
        direction: 'in',
        externalId: 'm_AbC123xyz-first',
        timestamp: new Date(1767610000001),
        kind: 'text',
        text: 'Здравствуйте, сколько стоит доставка?',
        meta: {},
      },
    ]);
  });

  it('§2.2 attachments: an image and a file, URLs kept for download', () => {
    const [ev] = one({
      object: 'page',
      entry: [
        {
          id: '104455667788990',
          time: 1767610100500,
          messaging: [
            {
              sender: { id: '7012345678901234' },
              recipient: { id: '104455667788990' },
              timestamp: 1767610100321,
              message: {
                mid: 'm_AbC123xyz-photo',
                attachments: [
                  { type: 'image', payload: { url: 'https://scontent.example-cdn.net/v/t1.15752-9/aaa.jpg?oe=6A1B2C3D' } },
                  { type: 'file', payload: { url: 'https://cdn.example-fbsbx.net/v/t59.2708-21/price-list.pdf?oe=6A1B2C3D' } },
                ],
              },
            },
          ],
        },
      ],
    }).events;
    expect(ev).toMatchObject({
      type: 'message',
      kind: 'image',
      attachments: [
        { kind: 'image', url: 'https://scontent.example-cdn.net/v/t1.15752-9/aaa.jpg?oe=6A1B2C3D' },
        { kind: 'file', url: 'https://cdn.example-fbsbx.net/v/t59.2708-21/price-list.pdf?oe=6A1B2C3D' },
      ],
    });
    expect(ev).not.toHaveProperty('text');
  });

  it('§2.2 stickers (image + sticker_id), voice (audio), and content Parley cannot show', () => {
    const e = one(
      page(
        {
          sender: { id: PSID },
          recipient: { id: PAGE },
          timestamp: 1,
          message: { mid: 'm_sticker', attachments: [{ type: 'image', payload: { url: 'https://scontent.fbcdn.net/s.png', sticker_id: 369239263222822 } }] },
        },
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 2, message: { mid: 'm_voice', attachments: [{ type: 'audio', payload: { url: 'https://cdn.fbsbx.net/v.mp4' } }] } },
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 3, message: { mid: 'm_share', attachments: [{ type: 'fallback', payload: null, title: 'a link' }] } },
        {
          sender: { id: PSID },
          recipient: { id: PAGE },
          timestamp: 4,
          message: { mid: 'm_reel', attachments: [{ type: 'ig_reel', payload: { url: 'https://www.instagram.com/reel/x', title: 'reel' } }] },
        },
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 5, message: { mid: 'm_unsup', is_unsupported: true } },
      ),
    );
    expect(e.events.map((ev) => ev.type === 'message' && [ev.externalId, ev.kind, ev.attachments?.map((a) => a.kind) ?? []])).toEqual([
      ['m_sticker', 'sticker', ['sticker']],
      ['m_voice', 'audio', ['audio']],
      ['m_share', 'unsupported', []],
      ['m_reel', 'unsupported', []],
      ['m_unsup', 'unsupported', []],
    ]);
  });

  it('§2.2 quick reply with the person’s phone, and a quoted message', () => {
    const [phone, other, quoted] = one(
      page(
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 1, message: { mid: 'm_qr', text: '+7 916 123-45-67', quick_reply: { payload: '+7 916 123-45-67' } } },
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 2, message: { mid: 'm_qr2', text: 'Yes', quick_reply: { payload: 'BOOK_YES' } } },
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 3, message: { mid: 'm_reply', text: 'this one', reply_to: { mid: 'm_AbC123xyz-first' } } },
      ),
    ).events;
    expect(phone).toMatchObject({ contactPhone: '+7 916 123-45-67' });
    expect(other).not.toHaveProperty('contactPhone');
    expect(quoted).toMatchObject({ replyToExternalId: 'm_AbC123xyz-first' });
  });

  it('§2.3 echo: roles inverted, the contact is the recipient; a foreign app’s metadata is not ours', () => {
    const [ev] = one(
      page({
        sender: { id: '104455667788990' },
        recipient: { id: '7012345678901234' },
        timestamp: 1767610200777,
        message: { is_echo: true, app_id: 987654321012345, metadata: 'crm:msg:4711', mid: 'm_EchoEcho-1', text: 'Доставка бесплатная от 3000 ₽' },
      }),
    ).events;
    expect(ev).toEqual({
      type: 'message',
      channelExternalId: PAGE,
      contactExternalId: PSID,
      direction: 'out',
      externalId: 'm_EchoEcho-1',
      timestamp: new Date(1767610200777),
      kind: 'text',
      text: 'Доставка бесплатная от 3000 ₽',
      meta: { appId: '987654321012345' },
    });
  });

  it('§2.3 the echo of Parley’s own send names its row (metadata parley:<id>)', () => {
    const [ev] = one(page({ sender: { id: PAGE }, recipient: { id: PSID }, timestamp: 1, message: { is_echo: true, app_id: 1, metadata: 'parley:4711', mid: 'm_ours' } })).events;
    expect(ev).toMatchObject({ direction: 'out', meta: { parleyMessageId: 4711 } });
    // Metadata typed by someone else is never trusted as ours.
    const [inbound] = one(page({ sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 1, message: { mid: 'm_fake', metadata: 'parley:1', text: 'hi' } })).events;
    expect(inbound).toMatchObject({ direction: 'in', meta: {} });
  });

  it('§2.4 read (watermark, no mid), delivery (mids + watermark), reaction, edit, postback', () => {
    const e = one(
      page(
        { sender: { id: '7012345678901234' }, recipient: { id: '104455667788990' }, timestamp: 1767610300000, read: { watermark: 1767610200777 } },
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 1767610300001, delivery: { mids: ['m_EchoEcho-1'], watermark: 1767610200777 } },
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 1767610300002, delivery: { watermark: 1767610200777 } },
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 1767610300003, reaction: { mid: 'm_EchoEcho-1', action: 'react', reaction: 'love', emoji: '❤️' } },
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 1767610300004, reaction: { mid: 'm_EchoEcho-1', action: 'unreact' } },
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 1767610300005, message_edit: { mid: 'm_AbC123xyz-first', text: 'Сколько стоит доставка в Химки?', num_edit: 1 } },
        { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 1767610300006, postback: { mid: 'm_pb', title: 'Get Started', payload: 'GET_STARTED' } },
      ),
    );
    expect(e.events).toEqual([
      { type: 'read', channelExternalId: PAGE, contactExternalId: PSID, watermark: new Date(1767610200777), timestamp: new Date(1767610300000) },
      { type: 'delivery', channelExternalId: PAGE, contactExternalId: PSID, externalIds: ['m_EchoEcho-1'], watermark: new Date(1767610200777), timestamp: new Date(1767610300001) },
      { type: 'delivery', channelExternalId: PAGE, contactExternalId: PSID, watermark: new Date(1767610200777), timestamp: new Date(1767610300002) },
      { type: 'reaction', channelExternalId: PAGE, contactExternalId: PSID, targetExternalId: 'm_EchoEcho-1', action: 'react', emoji: '❤️', timestamp: new Date(1767610300003) },
      { type: 'reaction', channelExternalId: PAGE, contactExternalId: PSID, targetExternalId: 'm_EchoEcho-1', action: 'unreact', timestamp: new Date(1767610300004) },
      { type: 'edited', channelExternalId: PAGE, contactExternalId: PSID, externalId: 'm_AbC123xyz-first', text: 'Сколько стоит доставка в Химки?', timestamp: new Date(1767610300005) },
      {
        type: 'message',
        channelExternalId: PAGE,
        contactExternalId: PSID,
        direction: 'in',
        externalId: 'm_pb',
        timestamp: new Date(1767610300006),
        kind: 'text',
        text: 'Get Started',
        meta: { postback: true },
      },
    ]);
  });

  it("§2.8 a feed comment (the doc's example) is a comment in the commenter's chat", () => {
    const e = one({
      object: 'page',
      entry: [
        {
          id: '104455667788990',
          time: 1767611000,
          changes: [
            {
              field: 'feed',
              value: {
                item: 'comment',
                verb: 'add',
                post_id: '104455667788990_122134455667788',
                comment_id: '122134455667788_998877665544',
                parent_id: '104455667788990_122134455667788',
                from: { id: '6543210987654321', name: 'Ирина К.' },
                message: 'Есть размер M?',
                created_time: 1767610998,
                post: { id: '104455667788990_122134455667788', status_type: 'added_photos', is_published: true },
              },
            },
          ],
        },
      ],
    });
    expect(e).toEqual({
      accountId: PAGE,
      ignored: 0,
      events: [
        {
          type: 'message',
          channelExternalId: PAGE,
          contactExternalId: '6543210987654321',
          direction: 'in',
          externalId: '122134455667788_998877665544',
          timestamp: new Date(1767610998 * 1000),
          kind: 'comment',
          text: 'Есть размер M?',
          contactName: 'Ирина К.',
          meta: { postId: '104455667788990_122134455667788' },
        },
      ],
    });
  });
});

describe('Instagram (§3.2)', () => {
  it('a batch with text and a voice message', () => {
    const e = one({
      object: 'instagram',
      entry: [
        {
          id: '17841400011122233',
          time: 1767612000456,
          messaging: [
            {
              sender: { id: '1203948576102938' },
              recipient: { id: '17841400011122233' },
              timestamp: 1767612000300,
              message: { mid: 'aWdfZAG1faXRlbToxOkFBQ-text', text: 'Привет! Это есть в наличии?' },
            },
            {
              sender: { id: '1203948576102938' },
              recipient: { id: '17841400011122233' },
              timestamp: 1767612000400,
              message: { mid: 'aWdfZAG1faXRlbToxOkFBQ-audio', attachments: [{ type: 'audio', payload: { url: 'https://lookaside.example-fbsbx.net/ig_messaging_cdn/?asset_id=555&signature=zzz' } }] },
            },
          ],
        },
      ],
    });
    expect(parseMetaWebhook({ object: 'instagram', entry: [] })!.object).toBe('instagram');
    expect(e.accountId).toBe(IG);
    expect(e.events).toMatchObject([
      { type: 'message', contactExternalId: IGSID, direction: 'in', externalId: 'aWdfZAG1faXRlbToxOkFBQ-text', kind: 'text', text: 'Привет! Это есть в наличии?' },
      { type: 'message', contactExternalId: IGSID, kind: 'audio', attachments: [{ kind: 'audio', url: 'https://lookaside.example-fbsbx.net/ig_messaging_cdn/?asset_id=555&signature=zzz' }] },
    ]);
  });

  it('read.mid (not a watermark), is_deleted, an echo inside `messages`', () => {
    const ig = (...messaging: unknown[]) => ({ object: 'instagram', entry: [{ id: IG, time: 1, messaging }] });
    const e = one(
      ig(
        { sender: { id: '1203948576102938' }, recipient: { id: '17841400011122233' }, timestamp: 1767612100000, read: { mid: 'aWdfZAG1faXRlbToxOkFBQ-echo42' } },
        { sender: { id: '1203948576102938' }, recipient: { id: '17841400011122233' }, timestamp: 1767612200000, message: { mid: 'aWdfZAG1faXRlbToxOkFBQ-text', is_deleted: true } },
        { sender: { id: IG }, recipient: { id: IGSID }, timestamp: 1767612300000, message: { mid: 'aWdf-echo', is_echo: true, text: 'from the app' } },
      ),
    );
    expect(e.events).toEqual([
      { type: 'read', channelExternalId: IG, contactExternalId: IGSID, externalId: 'aWdfZAG1faXRlbToxOkFBQ-echo42', timestamp: new Date(1767612100000) },
      { type: 'deleted', channelExternalId: IG, contactExternalId: IGSID, externalId: 'aWdfZAG1faXRlbToxOkFBQ-text', timestamp: new Date(1767612200000) },
      { type: 'message', channelExternalId: IG, contactExternalId: IGSID, direction: 'out', externalId: 'aWdf-echo', timestamp: new Date(1767612300000), kind: 'text', text: 'from the app', meta: {} },
    ]);
  });

  it("§3.3 an Instagram comment (the doc's example) is a comment in the commenter's chat", () => {
    const e = one({
      object: 'instagram',
      entry: [
        {
          id: IG,
          time: 1767613000,
          changes: [
            {
              field: 'comments',
              value: { id: '18034455667788990', from: { id: IGSID, username: 'irina.k' }, text: 'Сколько стоит?', media: { id: '18011223344556677', media_product_type: 'REELS' } },
            },
          ],
        },
      ],
    });
    expect(e).toEqual({
      accountId: IG,
      ignored: 0,
      events: [
        {
          type: 'message',
          channelExternalId: IG,
          contactExternalId: IGSID,
          direction: 'in',
          externalId: '18034455667788990',
          timestamp: new Date(1767613000 * 1000),
          kind: 'comment',
          text: 'Сколько стоит?',
          contactUsername: 'irina.k',
          meta: { postId: '18011223344556677', mediaType: 'REELS' },
        },
      ],
    });
  });
});

describe('tolerance (§10.4, §10.6)', () => {
  it('several entries keep their accounts and their order', () => {
    const parsed = parseMetaWebhook({
      object: 'page',
      entry: [
        {
          id: 'A',
          time: 1,
          messaging: [
            { sender: { id: 'p1' }, recipient: { id: 'A' }, timestamp: 2, message: { mid: 'a1', text: '1' } },
            { sender: { id: 'p2' }, recipient: { id: 'A' }, timestamp: 1, message: { mid: 'a2', text: '2' } },
          ],
        },
        { id: 'B', time: 1, messaging: [{ sender: { id: 'p1' }, recipient: { id: 'B' }, timestamp: 3, message: { mid: 'b1', text: '3' } }] },
      ],
    })!;
    expect(parsed.entries.map((e) => [e.accountId, e.events.map((ev) => ev.type === 'message' && ev.externalId)])).toEqual([
      ['A', ['a1', 'a2']],
      ['B', ['b1']],
    ]);
  });

  it('objects Parley does not handle, or shapes that are not deliveries, give null', () => {
    for (const body of [null, undefined, 42, 'x', [], {}, { object: 'whatsapp_business_account' }, { object: 'permissions', entry: [] }, { object: 'page' }, { object: 'page', entry: {} }]) {
      expect(parseMetaWebhook(body)).toBeNull();
    }
    // WhatsApp deliveries have their own parser (whatsapp-parser.test.ts): an empty one is no events.
    expect(parseMetaWebhook({ object: 'whatsapp_business_account', entry: [] })).toEqual({ object: 'whatsapp_business_account', entries: [] });
  });

  it('unknown items are counted, entries without an id skipped, odd timestamps survive', () => {
    const parsed = parseMetaWebhook({
      object: 'page',
      entry: [
        { time: 1, messaging: [{ sender: { id: PSID }, message: { mid: 'orphan', text: 'no entry id' } }] },
        {
          id: PAGE,
          messaging: [
            { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 1, optin: { ref: 'x' } },
            { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: 1, referral: { ref: 'ad' } },
            null,
            { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: '1767610000001', message: { mid: 'm_str_ts', text: 'string timestamp' } },
          ],
        },
      ],
    })!;
    expect(parsed.entries).toHaveLength(1);
    const e = parsed.entries[0]!;
    expect(e.ignored).toBe(3);
    expect(e.events).toHaveLength(1);
    expect(e.events[0]!.timestamp).toEqual(new Date(1767610000001));
  });
});
