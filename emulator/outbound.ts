// What happens on the platform after the business sends a message: the echo (Messenger/IG,
// §2.3), the delivery report when the customer's phone gets it (Messenger `delivery`, WhatsApp
// `sent` then `delivered`, §2.4, §4.4). Shared by the Send API, the WhatsApp API and the
// "sent from Meta's own inbox" control action.
import type { Ctx } from './context.ts';
import type { Channel, Message, Person, Thread } from './state.ts';
import { emitDelivered, emitEcho, emitWhatsAppStatus } from './webhooks/events.ts';

export function newBusinessMessage(ctx: Ctx, thread: Thread, fields: Partial<Message> & Pick<Message, 'source'>): Message {
  const channel = ctx.store.requireChannel(thread.channelId);
  const id = channel.platform === 'messenger' ? ctx.ids.messengerMid() : channel.platform === 'instagram' ? ctx.ids.instagramMid() : ctx.ids.wamid();
  const message: Message = {
    id,
    threadId: thread.id,
    direction: 'out',
    timestamp: ctx.clock.now(),
    attachments: [],
    deleted: false,
    edits: [],
    reactions: [],
    status: 'sent',
    ...fields,
  };
  ctx.store.addMessage(thread, message);
  // A business message clears the typing indicator (§2.7).
  thread.typingUntil = undefined;
  return message;
}

/** Echo + automatic delivery (when `webhooks.autoDeliver`). */
export function afterBusinessSend(ctx: Ctx, channel: Channel, person: Person, message: Message): void {
  if (channel.platform === 'whatsapp') {
    emitWhatsAppStatus(ctx, channel, person, message, 'sent');
    if (ctx.config.webhooks.autoDeliver) deliverMessages(ctx, channel, person, [message]);
    return;
  }
  emitEcho(ctx, channel, person, message);
  if (ctx.config.webhooks.autoDeliver) deliverMessages(ctx, channel, person, [message]);
}

/** Marks messages delivered and reports it (Instagram has no delivery webhook, §3.2). */
export function deliverMessages(ctx: Ctx, channel: Channel, person: Person, messages: Message[]): Message[] {
  const now = ctx.clock.now();
  const fresh = messages.filter((m) => m.direction === 'out' && m.status === 'sent');
  for (const m of fresh) {
    m.status = 'delivered';
    m.deliveredAt = now;
  }
  if (fresh.length) emitDelivered(ctx, channel, person, fresh, Math.max(...fresh.map((m) => m.timestamp)));
  return fresh;
}

/** A WhatsApp send that the platform accepted and then failed (131047 async, 131026, 131053…). */
export function failWhatsAppMessage(ctx: Ctx, channel: Channel, person: Person | undefined, message: Message, error: NonNullable<Message['error']>, recipientId: string): void {
  message.status = 'failed';
  message.error = error;
  emitWhatsAppStatus(ctx, channel, person, message, 'failed', recipientId);
}
