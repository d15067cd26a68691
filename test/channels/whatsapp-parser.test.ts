// Unit tests of the WhatsApp Cloud API webhook normalizer on the payloads written in
// meta-platform.md §4 (the JSON examples of §4.1, §4.2 and §4.4, copied as they are), the other
// inbound types of §4.3, and the §10 edge cases that apply to it (3, 4, 5, 14, 16).
import { describe, expect, it } from 'vitest';
import { parseMetaWebhook } from '../../src/channels/meta/webhook-parser.ts';
import { parleyIdOf, parseWhatsAppWebhook } from '../../src/channels/whatsapp/webhook-parser.ts';

const WABA = '102290129340398';
const PHONE_ID = '106540352242922';
const WA_ID = '79161234567';
const BSUID = 'US.13491208655302741918';

/** One `messages` change for the §4.1 number, holding `value` fields as given. */
const wa = (value: Record<string, unknown>, field = 'messages') => ({
  object: 'whatsapp_business_account',
  entry: [{ id: WABA, changes: [{ field, value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '79001234567', phone_number_id: PHONE_ID }, ...value } }] }],
});
const messages = (...list: unknown[]) => wa({ contacts: [{ profile: { name: 'Анна' }, wa_id: WA_ID }], messages: list });
const statuses = (...list: unknown[]) => wa({ statuses: list });

const one = (body: unknown) => {
  const parsed = parseMetaWebhook(body);
  expect(parsed).not.toBeNull();
  expect(parsed!.object).toBe('whatsapp_business_account');
  expect(parsed!.entries).toHaveLength(1);
  return parsed!.entries[0]!;
};
/** The fields every inbound message of the §4.1 person has. */
const fromAnna = (id: string, seconds: number) => ({
  type: 'message',
  channelExternalId: PHONE_ID,
  contactExternalId: WA_ID,
  direction: 'in',
  externalId: id,
  timestamp: new Date(seconds * 1000),
  contactName: 'Анна',
  contactPhone: '+79161234567',
});

describe('WhatsApp inbound messages (§4.1–§4.3)', () => {
  it('§4.1 envelope: a Cyrillic text, the profile name, the phone, a string timestamp in seconds', () => {
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '102290129340398',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '79001234567', phone_number_id: '106540352242922' },
                contacts: [{ profile: { name: 'Анна' }, wa_id: '79161234567' }],
                messages: [
                  { from: '79161234567', id: 'wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUJDREVGMDEyMzQ1Njc4OUFCAA==', timestamp: '1767614000', type: 'text', text: { body: 'Добрый день, хочу записаться' } },
                ],
              },
            },
          ],
        },
      ],
    };
    const expected = {
      accountId: PHONE_ID,
      ignored: 0,
      events: [
        {
          type: 'message',
          channelExternalId: '106540352242922',
          contactExternalId: '79161234567',
          direction: 'in',
          externalId: 'wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUJDREVGMDEyMzQ1Njc4OUFCAA==',
          timestamp: new Date(1767614000 * 1000),
          kind: 'text',
          text: 'Добрый день, хочу записаться',
          contactName: 'Анна',
          contactPhone: '+79161234567',
          meta: {},
        },
      ],
    };
    // Routed by phone_number_id, not by the WABA id of entry[].id.
    expect(one(body)).toEqual(expected);
    expect(parseWhatsAppWebhook(body)).toEqual([expected]);
    expect(parseMetaWebhook(body)).toEqual({ object: 'whatsapp_business_account', entries: [expected] });
  });

  it('§4.2 image with a caption: the media id, never a URL', () => {
    const [ev] = one(
      messages({
        from: WA_ID,
        id: 'wamid.image-1',
        timestamp: '1767614050',
        type: 'image',
        image: { id: '1122334455667788', mime_type: 'image/jpeg', sha256: 'aGFzaA==', caption: 'Вот фото', url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1122334455667788' },
      }),
    ).events;
    expect(ev).toEqual({
      ...fromAnna('wamid.image-1', 1767614050),
      kind: 'image',
      text: 'Вот фото',
      attachments: [{ kind: 'image', mediaId: '1122334455667788', mime: 'image/jpeg' }],
      meta: {},
    });
  });

  it('§4.2 audio voice note: meta.voice, the mime without its codecs parameter, no URL', () => {
    const [ev] = one(
      messages({
        from: '79161234567',
        id: 'wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBRBQUJCQ0NERA==',
        timestamp: '1767614100',
        type: 'audio',
        audio: {
          id: '1203847561029384',
          mime_type: 'audio/ogg; codecs=opus',
          sha256: 't7n1c0mBq2lVx9Yw3m7k1mJ8Qm3pYpQZ8c2vH3lq0mE=',
          voice: true,
          url: 'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1203847561029384&ext=1767614100&hash=abc',
        },
      }),
    ).events;
    expect(ev).toEqual({
      ...fromAnna('wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBRBQUJCQ0NERA==', 1767614100),
      kind: 'audio',
      attachments: [{ kind: 'audio', mediaId: '1203847561029384', mime: 'audio/ogg' }],
      meta: { voice: true },
    });
  });

  it('§4.2 an audio file that is not a voice note has no meta.voice', () => {
    const [ev] = one(messages({ from: WA_ID, id: 'wamid.audio-file', timestamp: '1767614110', type: 'audio', audio: { id: '555', mime_type: 'audio/mpeg', voice: false } })).events;
    expect(ev).toEqual({ ...fromAnna('wamid.audio-file', 1767614110), kind: 'audio', attachments: [{ kind: 'audio', mediaId: '555', mime: 'audio/mpeg' }], meta: {} });
  });

  it('§4.2 video with a caption', () => {
    const [ev] = one(
      messages({ from: WA_ID, id: 'wamid.video-1', timestamp: '1767614150', type: 'video', video: { id: '6677889900', mime_type: 'video/mp4', sha256: 'dmlkZW8=', caption: 'Как добраться' } }),
    ).events;
    expect(ev).toEqual({
      ...fromAnna('wamid.video-1', 1767614150),
      kind: 'video',
      text: 'Как добраться',
      attachments: [{ kind: 'video', mediaId: '6677889900', mime: 'video/mp4' }],
      meta: {},
    });
  });

  it('§4.2 document: kind file, its file name and caption', () => {
    const [ev] = one(
      messages({
        from: '79161234567',
        id: 'wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBRERUZHSElKSw==',
        timestamp: '1767614200',
        type: 'document',
        document: { id: '9988776655443322', filename: 'договор.pdf', mime_type: 'application/pdf', sha256: '2bG0p8pC1r0yX8aK4m9Zq7r3sT5uV6wX7yZ8a9b0c1d=', caption: 'Подписанный договор' },
      }),
    ).events;
    expect(ev).toEqual({
      ...fromAnna('wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBRERUZHSElKSw==', 1767614200),
      kind: 'file',
      text: 'Подписанный договор',
      attachments: [{ kind: 'file', mediaId: '9988776655443322', mime: 'application/pdf', fileName: 'договор.pdf' }],
      meta: {},
    });
  });

  it('§4.2 sticker', () => {
    const [ev] = one(
      messages({ from: WA_ID, id: 'wamid.sticker-1', timestamp: '1767614250', type: 'sticker', sticker: { id: '4455667788', mime_type: 'image/webp', sha256: 'c3RpY2tlcg==', animated: false } }),
    ).events;
    expect(ev).toEqual({ ...fromAnna('wamid.sticker-1', 1767614250), kind: 'sticker', attachments: [{ kind: 'sticker', mediaId: '4455667788', mime: 'image/webp' }], meta: {} });
  });

  it('§4.2 a media message without a media id is a placeholder, not an attachment', () => {
    const [ev] = one(messages({ from: WA_ID, id: 'wamid.image-noid', timestamp: '1767614260', type: 'image', image: { mime_type: 'image/jpeg' } })).events;
    expect(ev).toEqual({ ...fromAnna('wamid.image-noid', 1767614260), kind: 'unsupported', meta: {} });
  });

  it('§4.3 location: kind location, meta.location, the name and address as text', () => {
    const [ev] = one(
      messages({
        from: WA_ID,
        id: 'wamid.location-1',
        timestamp: '1767614300',
        type: 'location',
        location: { latitude: 55.751244, longitude: 37.618423, name: 'Красная площадь', address: 'Москва, 109012' },
      }),
    ).events;
    expect(ev).toEqual({
      ...fromAnna('wamid.location-1', 1767614300),
      kind: 'location',
      text: 'Красная площадь, Москва, 109012',
      meta: { location: { latitude: 55.751244, longitude: 37.618423, name: 'Красная площадь', address: 'Москва, 109012' } },
    });
  });

  it('§4.3 a location without coordinates is unsupported', () => {
    const [ev] = one(messages({ from: WA_ID, id: 'wamid.location-bad', timestamp: '1767614310', type: 'location', location: { name: 'somewhere' } })).events;
    expect(ev).toEqual({ ...fromAnna('wamid.location-bad', 1767614310), kind: 'unsupported', meta: {} });
  });

  it('§4.3 contacts: kind contacts, the cards in meta and as text', () => {
    const [ev] = one(
      messages({
        from: WA_ID,
        id: 'wamid.contacts-1',
        timestamp: '1767614400',
        type: 'contacts',
        contacts: [
          { name: { formatted_name: 'Иван Петров', first_name: 'Иван', last_name: 'Петров' }, phones: [{ phone: '+7 916 000-00-01', wa_id: '79160000001', type: 'CELL' }] },
          { name: { first_name: 'Ольга', last_name: 'Смирнова' }, phones: [{ wa_id: '79160000002' }] },
        ],
      }),
    ).events;
    expect(ev).toEqual({
      ...fromAnna('wamid.contacts-1', 1767614400),
      kind: 'contacts',
      text: 'Иван Петров +7 916 000-00-01\nОльга Смирнова 79160000002',
      meta: {
        contacts: [
          { name: 'Иван Петров', phones: ['+7 916 000-00-01'] },
          { name: 'Ольга Смирнова', phones: ['79160000002'] },
        ],
      },
    });
  });

  it('§4.3/§10.14 reaction with an emoji, and without one (removed)', () => {
    const e = one(
      messages(
        { from: WA_ID, id: 'wamid.reaction-1', timestamp: '1767614500', type: 'reaction', reaction: { message_id: 'wamid.ours-1', emoji: '👍' } },
        { from: WA_ID, id: 'wamid.reaction-2', timestamp: '1767614501', type: 'reaction', reaction: { message_id: 'wamid.ours-1' } },
      ),
    );
    expect(e).toEqual({
      accountId: PHONE_ID,
      ignored: 0,
      events: [
        { type: 'reaction', channelExternalId: PHONE_ID, contactExternalId: WA_ID, targetExternalId: 'wamid.ours-1', action: 'react', emoji: '👍', timestamp: new Date(1767614500 * 1000) },
        { type: 'reaction', channelExternalId: PHONE_ID, contactExternalId: WA_ID, targetExternalId: 'wamid.ours-1', action: 'unreact', timestamp: new Date(1767614501 * 1000) },
      ],
    });
  });

  it('§4.3 a reaction without a target message is skipped and counted', () => {
    expect(one(messages({ from: WA_ID, id: 'wamid.reaction-x', timestamp: '1767614502', type: 'reaction', reaction: { emoji: '👍' } }))).toEqual({ accountId: PHONE_ID, events: [], ignored: 1 });
  });

  it('§4.3 a reply: context.id becomes replyToExternalId', () => {
    const [ev] = one(
      messages({ from: WA_ID, id: 'wamid.reply-1', timestamp: '1767614600', type: 'text', text: { body: 'Да, в четверг' }, context: { from: '79001234567', id: 'wamid.ours-1' } }),
    ).events;
    expect(ev).toEqual({ ...fromAnna('wamid.reply-1', 1767614600), kind: 'text', text: 'Да, в четверг', replyToExternalId: 'wamid.ours-1', meta: {} });
  });

  it('§4.3 forwarded and frequently forwarded context: meta.forwarded, no reply', () => {
    const e = one(
      messages(
        { from: WA_ID, id: 'wamid.fwd-1', timestamp: '1767614610', type: 'text', text: { body: 'Переслано' }, context: { forwarded: true } },
        { from: WA_ID, id: 'wamid.fwd-2', timestamp: '1767614611', type: 'text', text: { body: 'Переслано много раз' }, context: { frequently_forwarded: true } },
      ),
    );
    expect(e.events).toEqual([
      { ...fromAnna('wamid.fwd-1', 1767614610), kind: 'text', text: 'Переслано', meta: { forwarded: true } },
      { ...fromAnna('wamid.fwd-2', 1767614611), kind: 'text', text: 'Переслано много раз', meta: { forwarded: true } },
    ]);
  });

  it('§4.3 a template quick-reply `button` reads as its text', () => {
    const [ev] = one(
      messages({
        from: WA_ID,
        id: 'wamid.button-1',
        timestamp: '1767614700',
        type: 'button',
        button: { payload: 'CONFIRM_BOOKING', text: 'Подтвердить' },
        context: { from: '79001234567', id: 'wamid.template-1' },
      }),
    ).events;
    expect(ev).toEqual({ ...fromAnna('wamid.button-1', 1767614700), kind: 'text', text: 'Подтвердить', replyToExternalId: 'wamid.template-1', meta: { button: true } });
  });

  it('§4.3 interactive button_reply and list_reply read as text', () => {
    const e = one(
      messages(
        { from: WA_ID, id: 'wamid.int-1', timestamp: '1767614800', type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Да' } } },
        { from: WA_ID, id: 'wamid.int-2', timestamp: '1767614801', type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'slot-14', title: '14:00', description: 'Четверг' } } },
      ),
    );
    expect(e.events).toEqual([
      { ...fromAnna('wamid.int-1', 1767614800), kind: 'text', text: 'Да', meta: { interactive: 'button_reply' } },
      { ...fromAnna('wamid.int-2', 1767614801), kind: 'text', text: '14:00 — Четверг', meta: { interactive: 'list_reply' } },
    ]);
  });

  it('§4.3/§10.14 unsupported `edit` (131051): kind unsupported with meta.unsupportedType', () => {
    const [ev] = one(
      messages({
        from: WA_ID,
        id: 'wamid.unsupported-edit',
        timestamp: '1767614900',
        type: 'unsupported',
        unsupported: { type: 'edit' },
        errors: [{ code: 131051, title: 'Message type unknown', message: 'Message type unknown', error_data: { details: 'Message type is currently not supported.' } }],
      }),
    ).events;
    expect(ev).toEqual({
      ...fromAnna('wamid.unsupported-edit', 1767614900),
      kind: 'unsupported',
      meta: { unsupportedType: 'edit', platformError: { code: 131051, text: 'Message type unknown: Message type is currently not supported.' } },
    });
  });

  it('§4.3 poll_creation is unsupported too', () => {
    const [ev] = one(
      messages({ from: WA_ID, id: 'wamid.poll', timestamp: '1767614910', type: 'unsupported', unsupported: { type: 'poll_creation' }, errors: [{ code: 131051, title: 'Message type unknown' }] }),
    ).events;
    expect(ev).toEqual({ ...fromAnna('wamid.poll', 1767614910), kind: 'unsupported', meta: { unsupportedType: 'poll_creation', platformError: { code: 131051, text: 'Message type unknown' } } });
  });

  it('§4.2 a message with errors 131052 (media too big) keeps the platform error', () => {
    const [ev] = one(
      messages({
        from: WA_ID,
        id: 'wamid.too-big',
        timestamp: '1767615000',
        type: 'unknown',
        errors: [{ code: 131052, title: 'Media download error', message: 'Media download error', error_data: { details: 'Unable to download the media sent by the user.' } }],
      }),
    ).events;
    expect(ev).toEqual({
      ...fromAnna('wamid.too-big', 1767615000),
      kind: 'unsupported',
      meta: { unsupportedType: 'unknown', platformError: { code: 131052, text: 'Media download error: Unable to download the media sent by the user.' } },
    });
  });

  it('§4.3 a message with errors 131060 (currently unavailable) is a placeholder', () => {
    const [ev] = one(
      messages({
        from: WA_ID,
        id: 'wamid.unavailable',
        timestamp: '1767615100',
        type: 'unsupported',
        errors: [{ code: 131060, title: 'This message is currently unavailable', message: 'This message is currently unavailable' }],
      }),
    ).events;
    expect(ev).toEqual({ ...fromAnna('wamid.unavailable', 1767615100), kind: 'unsupported', meta: { platformError: { code: 131060, text: 'This message is currently unavailable' } } });
  });

  it('a text without a body is unsupported, a type added later is unsupported with its name', () => {
    const e = one(
      messages(
        { from: WA_ID, id: 'wamid.empty', timestamp: '1767615200', type: 'text', text: { body: '' } },
        { from: WA_ID, id: 'wamid.future', timestamp: '1767615201', type: 'hologram', hologram: { id: '1' } },
      ),
    );
    expect(e.events).toEqual([
      { ...fromAnna('wamid.empty', 1767615200), kind: 'unsupported', meta: {} },
      { ...fromAnna('wamid.future', 1767615201), kind: 'unsupported', meta: { unsupportedType: 'hologram' } },
    ]);
  });

  it('§4.8 the name comes from contacts[] per person; a person without a profile has none', () => {
    const e = one(
      wa({
        contacts: [
          { profile: { name: 'Анна' }, wa_id: WA_ID },
          { profile: { name: 'Борис' }, wa_id: '79169876543' },
        ],
        messages: [
          { from: '79169876543', id: 'wamid.boris', timestamp: '1767615300', type: 'text', text: { body: 'Привет' } },
          { from: '79165550000', id: 'wamid.nobody', timestamp: '1767615301', type: 'text', text: { body: 'Кто я?' } },
        ],
      }),
    );
    expect(e.events).toEqual([
      {
        type: 'message',
        channelExternalId: PHONE_ID,
        contactExternalId: '79169876543',
        direction: 'in',
        externalId: 'wamid.boris',
        timestamp: new Date(1767615300000),
        kind: 'text',
        text: 'Привет',
        contactName: 'Борис',
        contactPhone: '+79169876543',
        meta: {},
      },
      {
        type: 'message',
        channelExternalId: PHONE_ID,
        contactExternalId: '79165550000',
        direction: 'in',
        externalId: 'wamid.nobody',
        timestamp: new Date(1767615301000),
        kind: 'text',
        text: 'Кто я?',
        contactPhone: '+79165550000',
        meta: {},
      },
    ]);
  });

  it('§4.1/§10.16 BSUID: from_user_id / user_id without from or wa_id keys the person, no phone', () => {
    const e = one(
      wa({
        contacts: [{ profile: { name: 'Анна', username: 'anna.flowers' }, user_id: 'US.13491208655302741918' }],
        messages: [
          { from_user_id: 'US.13491208655302741918', id: 'wamid.bsuid-1', timestamp: '1767615400', type: 'text', text: { body: 'Пишу по юзернейму' } },
          { user_id: 'US.13491208655302741918', id: 'wamid.bsuid-2', timestamp: '1767615401', type: 'reaction', reaction: { message_id: 'wamid.ours-2', emoji: '❤️' } },
        ],
      }),
    );
    expect(e).toEqual({
      accountId: PHONE_ID,
      ignored: 0,
      events: [
        {
          type: 'message',
          channelExternalId: PHONE_ID,
          contactExternalId: BSUID,
          direction: 'in',
          externalId: 'wamid.bsuid-1',
          timestamp: new Date(1767615400000),
          kind: 'text',
          text: 'Пишу по юзернейму',
          contactName: 'Анна',
          meta: {},
        },
        { type: 'reaction', channelExternalId: PHONE_ID, contactExternalId: BSUID, targetExternalId: 'wamid.ours-2', action: 'react', emoji: '❤️', timestamp: new Date(1767615401000) },
      ],
    });
    expect(e.events[0]).not.toHaveProperty('contactPhone');
  });

  it('§4.1 when both are present the wa_id is the key, and the phone is kept', () => {
    const [ev] = one(
      wa({
        contacts: [{ profile: { name: 'Анна' }, wa_id: WA_ID, user_id: BSUID }],
        messages: [{ from: WA_ID, from_user_id: BSUID, id: 'wamid.both', timestamp: '1767615450', type: 'text', text: { body: 'Оба id' } }],
      }),
    ).events;
    expect(ev).toEqual({ ...fromAnna('wamid.both', 1767615450), kind: 'text', text: 'Оба id', meta: {} });
  });
});

describe('WhatsApp statuses (§4.4)', () => {
  it('§4.4 example: delivered, and failed with 131047 → the window reason', () => {
    const e = one({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '102290129340398',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '79001234567', phone_number_id: '106540352242922' },
                statuses: [
                  {
                    id: 'wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJBQkNEMTIzNA==',
                    status: 'delivered',
                    timestamp: '1767614300',
                    recipient_id: '79161234567',
                    pricing: { billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' },
                  },
                  {
                    id: 'wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJBQkNEMTIzNQ==',
                    status: 'failed',
                    timestamp: '1767614301',
                    recipient_id: '79161234567',
                    errors: [
                      {
                        code: 131047,
                        title: 'Re-engagement message',
                        message: 'Re-engagement message',
                        error_data: { details: 'More than 24 hours have passed since the recipient last replied to the sender number.' },
                      },
                    ],
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    expect(e).toEqual({
      accountId: PHONE_ID,
      ignored: 0,
      events: [
        { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJBQkNEMTIzNA==', status: 'delivered', timestamp: new Date(1767614300000) },
        {
          type: 'status',
          channelExternalId: PHONE_ID,
          externalId: 'wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJBQkNEMTIzNQ==',
          status: 'failed',
          reason: 'i18n:chats.error.wa_window',
          timestamp: new Date(1767614301000),
        },
      ],
    });
  });

  it('sent / delivered / read / played (→ read), each with its own timestamp', () => {
    const e = one(
      statuses(
        { id: 'wamid.out-1', status: 'sent', timestamp: '1767616000', recipient_id: WA_ID },
        { id: 'wamid.out-1', status: 'delivered', timestamp: '1767616001', recipient_id: WA_ID },
        { id: 'wamid.out-1', status: 'read', timestamp: '1767616002', recipient_id: WA_ID },
        { id: 'wamid.out-voice', status: 'played', timestamp: '1767616003', recipient_id: WA_ID },
      ),
    );
    expect(e).toEqual({
      accountId: PHONE_ID,
      ignored: 0,
      events: [
        { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.out-1', status: 'sent', timestamp: new Date(1767616000000) },
        { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.out-1', status: 'delivered', timestamp: new Date(1767616001000) },
        { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.out-1', status: 'read', timestamp: new Date(1767616002000) },
        { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.out-voice', status: 'read', timestamp: new Date(1767616003000) },
      ],
    });
  });

  it('§10.5 a read without delivered, and a delivered after read, are passed on as they come', () => {
    const e = one(
      statuses({ id: 'wamid.out-2', status: 'read', timestamp: '1767616102', recipient_id: WA_ID }, { id: 'wamid.out-2', status: 'delivered', timestamp: '1767616101', recipient_id: WA_ID }),
    );
    expect(e.events).toEqual([
      { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.out-2', status: 'read', timestamp: new Date(1767616102000) },
      { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.out-2', status: 'delivered', timestamp: new Date(1767616101000) },
    ]);
  });

  it('failed with an unknown code: the platform’s title, details and the code', () => {
    const e = one(
      statuses(
        {
          id: 'wamid.out-3',
          status: 'failed',
          timestamp: '1767616200',
          recipient_id: WA_ID,
          errors: [{ code: 135000, title: 'Generic user error', message: 'Generic user error', error_data: { details: 'Message failed to send because of an unknown error.' } }],
        },
        { id: 'wamid.out-4', status: 'failed', timestamp: '1767616201', recipient_id: WA_ID, errors: [{ code: 131999, title: 'Something odd' }] },
        { id: 'wamid.out-5', status: 'failed', timestamp: '1767616202', recipient_id: WA_ID },
      ),
    );
    expect(e.events).toEqual([
      {
        type: 'status',
        channelExternalId: PHONE_ID,
        externalId: 'wamid.out-3',
        status: 'failed',
        reason: 'Generic user error: Message failed to send because of an unknown error. (code 135000)',
        timestamp: new Date(1767616200000),
      },
      { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.out-4', status: 'failed', reason: 'Something odd (code 131999)', timestamp: new Date(1767616201000) },
      { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.out-5', status: 'failed', reason: 'i18n:chats.error.wa_failed', timestamp: new Date(1767616202000) },
    ]);
  });

  it('failed with other known codes uses their message keys', () => {
    const e = one(
      statuses(
        { id: 'wamid.out-6', status: 'failed', timestamp: '1767616300', recipient_id: WA_ID, errors: [{ code: 131026, title: 'Message undeliverable' }] },
        { id: 'wamid.out-7', status: 'failed', timestamp: '1767616301', recipient_id: WA_ID, errors: [{ code: 131053, title: 'Media upload error' }] },
      ),
    );
    expect(e.events).toMatchObject([
      { externalId: 'wamid.out-6', status: 'failed', reason: 'i18n:chats.error.wa_undeliverable' },
      { externalId: 'wamid.out-7', status: 'failed', reason: 'i18n:chats.error.wa_media' },
    ]);
  });

  it('biz_opaque_callback_data "parley:42" names Parley’s message; bad opaque data is ignored', () => {
    const e = one(
      statuses(
        { id: 'wamid.ours-42', status: 'delivered', timestamp: '1767616400', recipient_id: WA_ID, biz_opaque_callback_data: 'parley:42' },
        { id: 'wamid.bad-1', status: 'delivered', timestamp: '1767616401', recipient_id: WA_ID, biz_opaque_callback_data: 'parley:abc' },
        { id: 'wamid.bad-2', status: 'delivered', timestamp: '1767616402', recipient_id: WA_ID, biz_opaque_callback_data: 'crm:42' },
        { id: 'wamid.bad-3', status: 'delivered', timestamp: '1767616403', recipient_id: WA_ID, biz_opaque_callback_data: 42 },
        { id: 'wamid.bad-4', status: 'delivered', timestamp: '1767616404', recipient_id: WA_ID, biz_opaque_callback_data: 'parley:-7' },
      ),
    );
    expect(e.ignored).toBe(0);
    expect(e.events).toEqual([
      { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.ours-42', status: 'delivered', parleyMessageId: 42, timestamp: new Date(1767616400000) },
      { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.bad-1', status: 'delivered', timestamp: new Date(1767616401000) },
      { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.bad-2', status: 'delivered', timestamp: new Date(1767616402000) },
      { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.bad-3', status: 'delivered', timestamp: new Date(1767616403000) },
      { type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.bad-4', status: 'delivered', timestamp: new Date(1767616404000) },
    ]);
  });

  it('parleyIdOf accepts only parley:<positive integer>', () => {
    expect(parleyIdOf('parley:42')).toBe(42);
    expect(parleyIdOf('parley:1')).toBe(1);
    for (const bad of ['parley:', 'parley:0', 'parley:-1', 'parley:4.5', 'parley:abc', 'parley:99999999999999999999', 'Parley:42', 'crm:42', '42', '', 42, null, undefined, {}, ['parley:42']]) {
      expect(parleyIdOf(bad)).toBeUndefined();
    }
  });

  it('a status Parley does not know (or without an id) is skipped and counted', () => {
    const e = one(
      statuses(
        { id: 'wamid.out-8', status: 'deleted', timestamp: '1767616500', recipient_id: WA_ID },
        { status: 'delivered', timestamp: '1767616501', recipient_id: WA_ID },
        { id: 'wamid.out-9', status: 'sent', timestamp: '1767616502', recipient_id: WA_ID },
      ),
    );
    expect(e).toEqual({
      accountId: PHONE_ID,
      ignored: 2,
      events: [{ type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.out-9', status: 'sent', timestamp: new Date(1767616502000) }],
    });
  });
});

describe('WhatsApp batching and tolerance (§10.3, §10.4, §10.6)', () => {
  it('§10.4 two entries, two phone numbers, messages and statuses: grouped per phone_number_id', () => {
    const P1 = '106540352242922';
    const P2 = '106540352249999';
    const meta = (id: string) => ({ display_phone_number: id === P1 ? '79001234567' : '79007654321', phone_number_id: id });
    const parsed = parseMetaWebhook({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '102290129340398',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: meta(P1),
                contacts: [{ profile: { name: 'Анна' }, wa_id: '79161234567' }],
                messages: [
                  { from: '79161234567', id: 'wamid.p1-m1', timestamp: '1767617000', type: 'text', text: { body: 'Первое' } },
                  { from: '79161234567', id: 'wamid.p1-m2', timestamp: '1767617001', type: 'text', text: { body: 'Второе' } },
                ],
              },
            },
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: meta(P1),
                statuses: [
                  { id: 'wamid.p1-out1', status: 'delivered', timestamp: '1767617002', recipient_id: '79161234567' },
                  { id: 'wamid.p1-out1', status: 'read', timestamp: '1767617003', recipient_id: '79161234567' },
                ],
              },
            },
          ],
        },
        {
          id: '102290129349999',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: meta(P2),
                contacts: [{ profile: { name: 'Борис' }, wa_id: '79169876543' }],
                messages: [
                  { from: '79169876543', id: 'wamid.p2-m1', timestamp: '1767617010', type: 'text', text: { body: 'Здравствуйте' } },
                  { from: '79169876543', id: 'wamid.p2-m2', timestamp: '1767617011', type: 'reaction', reaction: { message_id: 'wamid.p2-out1', emoji: '🙏' } },
                ],
                statuses: [{ id: 'wamid.p2-out1', status: 'sent', timestamp: '1767617012', recipient_id: '79169876543', biz_opaque_callback_data: 'parley:7' }],
              },
            },
            {
              // The first number again, in another entry: it joins that number's events.
              field: 'messages',
              value: { messaging_product: 'whatsapp', metadata: meta(P1), messages: [{ from: '79161234567', id: 'wamid.p1-m3', timestamp: '1767617020', type: 'text', text: { body: 'Третье' } }] },
            },
          ],
        },
      ],
    })!;
    expect(parsed.object).toBe('whatsapp_business_account');
    expect(
      parsed.entries.map((e) => ({
        accountId: e.accountId,
        ignored: e.ignored,
        events: e.events.map((ev) => [ev.type, ev.channelExternalId, 'externalId' in ev ? ev.externalId : ev.type === 'reaction' ? ev.targetExternalId : null]),
      })),
    ).toEqual([
      {
        accountId: P1,
        ignored: 0,
        events: [
          ['message', P1, 'wamid.p1-m1'],
          ['message', P1, 'wamid.p1-m2'],
          ['status', P1, 'wamid.p1-out1'],
          ['status', P1, 'wamid.p1-out1'],
          ['message', P1, 'wamid.p1-m3'],
        ],
      },
      {
        accountId: P2,
        ignored: 0,
        events: [
          ['message', P2, 'wamid.p2-m1'],
          ['reaction', P2, 'wamid.p2-out1'],
          ['status', P2, 'wamid.p2-out1'],
        ],
      },
    ]);
    expect(parsed.entries[1]!.events).toEqual([
      {
        type: 'message',
        channelExternalId: P2,
        contactExternalId: '79169876543',
        direction: 'in',
        externalId: 'wamid.p2-m1',
        timestamp: new Date(1767617010000),
        kind: 'text',
        text: 'Здравствуйте',
        contactName: 'Борис',
        contactPhone: '+79169876543',
        meta: {},
      },
      { type: 'reaction', channelExternalId: P2, contactExternalId: '79169876543', targetExternalId: 'wamid.p2-out1', action: 'react', emoji: '🙏', timestamp: new Date(1767617011000) },
      { type: 'status', channelExternalId: P2, externalId: 'wamid.p2-out1', status: 'sent', parleyMessageId: 7, timestamp: new Date(1767617012000) },
    ]);
    // A name in one value is not lent to the same person's message in another value.
    expect(parsed.entries[0]!.events[4]).toEqual({
      type: 'message',
      channelExternalId: P1,
      contactExternalId: '79161234567',
      direction: 'in',
      externalId: 'wamid.p1-m3',
      timestamp: new Date(1767617020000),
      kind: 'text',
      text: 'Третье',
      contactPhone: '+79161234567',
      meta: {},
    });
  });

  it('§10.3 the same delivery parsed twice gives the same events (dedupe is downstream, on wamid)', () => {
    const body = messages({ from: WA_ID, id: 'wamid.dup', timestamp: '1767617100', type: 'text', text: { body: 'Дубль' } });
    const first = parseWhatsAppWebhook(body);
    expect(parseWhatsAppWebhook(JSON.parse(JSON.stringify(body)))).toEqual(first);
    expect(first).toEqual([{ accountId: PHONE_ID, ignored: 0, events: [{ ...fromAnna('wamid.dup', 1767617100), kind: 'text', text: 'Дубль', meta: {} }] }]);
  });

  it('a change whose field is not `messages` is counted as ignored', () => {
    const e = one(
      wa(
        {
          messages: [{ from: WA_ID, id: 'wamid.elsewhere', timestamp: '1767617200', type: 'text', text: { body: 'not a chat item here' } }],
        },
        'smb_message_echoes',
      ),
    );
    expect(e).toEqual({ accountId: PHONE_ID, events: [], ignored: 1 });
  });

  it('an account-level change without a phone number id yields no entry and does not throw', () => {
    expect(
      parseWhatsAppWebhook({
        object: 'whatsapp_business_account',
        entry: [
          {
            id: WABA,
            time: 1767617300,
            changes: [
              {
                field: 'message_template_status_update',
                value: { event: 'APPROVED', message_template_id: 594425479261596, message_template_name: 'booking_reminder', message_template_language: 'ru' },
              },
            ],
          },
        ],
      }),
    ).toEqual([]);
  });

  it('value-level errors[] are counted, next to the items that parse', () => {
    const e = one(
      wa({
        contacts: [{ profile: { name: 'Анна' }, wa_id: WA_ID }],
        messages: [{ from: WA_ID, id: 'wamid.with-errors', timestamp: '1767617400', type: 'text', text: { body: 'Привет' } }],
        errors: [
          { code: 131000, title: 'Something went wrong', message: 'Something went wrong', error_data: { details: 'Unknown error' } },
          { code: 131057, title: 'Account in maintenance mode' },
        ],
      }),
    );
    expect(e).toEqual({ accountId: PHONE_ID, ignored: 2, events: [{ ...fromAnna('wamid.with-errors', 1767617400), kind: 'text', text: 'Привет', meta: {} }] });
  });

  it('null and garbage items are skipped and counted, never thrown', () => {
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        null,
        42,
        { id: WABA },
        { id: WABA, changes: null },
        { id: WABA, changes: [null, 'x', { field: 'messages' }, { field: 'messages', value: null }, { field: 'messages', value: { metadata: {} } }] },
        {
          id: WABA,
          changes: [
            {
              field: 'messages',
              value: {
                metadata: { phone_number_id: PHONE_ID },
                contacts: [null, { wa_id: WA_ID }, { profile: { name: 'Без номера' } }, 'junk'],
                messages: [
                  null,
                  42,
                  'text',
                  [],
                  {},
                  { id: 'wamid.no-from', timestamp: '1767617500', type: 'text', text: { body: 'x' } },
                  { from: WA_ID, timestamp: '1767617500', type: 'text', text: { body: 'no id' } },
                  { from: WA_ID, id: 'wamid.ok', timestamp: 'not a number', type: 'text', text: { body: 'выжил' } },
                ],
                statuses: [null, 7, {}, { id: 'wamid.s' }, { id: 'wamid.s2', status: 'read', timestamp: '1767617501' }],
                errors: 'not an array',
              },
            },
          ],
        },
      ],
    };
    let parsed: ReturnType<typeof parseWhatsAppWebhook> = null;
    expect(() => (parsed = parseWhatsAppWebhook(body))).not.toThrow();
    expect(parsed).toHaveLength(1);
    const e = parsed![0]!;
    expect(e.accountId).toBe(PHONE_ID);
    expect(e.ignored).toBe(7 + 4);
    expect(e.events).toHaveLength(2);
    // A timestamp that is not a number survives as "now" (the arrival time).
    expect(e.events[0]).toMatchObject({ type: 'message', externalId: 'wamid.ok', contactExternalId: WA_ID, contactPhone: '+79161234567', kind: 'text', text: 'выжил', meta: {} });
    expect(e.events[0]).not.toHaveProperty('contactName');
    expect(Math.abs(e.events[0]!.timestamp.getTime() - Date.now())).toBeLessThan(60_000);
    expect(e.events[1]).toEqual({ type: 'status', channelExternalId: PHONE_ID, externalId: 'wamid.s2', status: 'read', timestamp: new Date(1767617501000) });
  });

  it('a body of another object, or without entries, is not a WhatsApp delivery', () => {
    for (const body of [
      null,
      undefined,
      42,
      'whatsapp_business_account',
      [],
      {},
      { object: 'page', entry: [] },
      { object: 'instagram', entry: [] },
      { object: 'whatsapp_business_account' },
      { object: 'whatsapp_business_account', entry: {} },
    ]) {
      expect(parseWhatsAppWebhook(body)).toBeNull();
    }
    expect(parseMetaWebhook({ object: 'whatsapp_business_account' })).toBeNull();
    // An empty but well-formed delivery is one: nothing in it.
    expect(parseWhatsAppWebhook({ object: 'whatsapp_business_account', entry: [] })).toEqual([]);
    expect(parseMetaWebhook({ object: 'whatsapp_business_account', entry: [] })).toEqual({ object: 'whatsapp_business_account', entries: [] });
  });
});
