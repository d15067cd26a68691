/**
 * A delivery split into its changes (R9): each messaging item or `changes[]` item of a
 * Messenger/Instagram entry, each message or status of a WhatsApp `messages` value, as a
 * one-item delivery of the same shape. The job parses and applies each on its own, so one bad
 * change is set aside without its neighbours; a change set aside is stored as this body and
 * Retry feeds it to the same code path. Anything the parsers would skip anyway (entries without
 * items, other WhatsApp fields) produces no change.
 */

type Json = Record<string, unknown>;

export interface DeliveryChange {
  /** Where the change sat in its delivery (`<entry>.messaging.<i>`, `<entry>.<change>.messages.<i>`…): unique per delivery. */
  key: string;
  /** The change alone, as a delivery (raw: cleaning is the parser's work). */
  body: Json;
}

const OBJECTS = new Set(['page', 'instagram', 'whatsapp_business_account']);

const items = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The changes of a delivery, or null when it is not a delivery Parley serves (§10.6). */
export function splitDelivery(body: unknown): DeliveryChange[] | null {
  const b = body as Json;
  if (!b || typeof b !== 'object' || typeof b.object !== 'string' || !OBJECTS.has(b.object) || !Array.isArray(b.entry)) return null;
  const object = b.object as string;
  const out: DeliveryChange[] = [];
  b.entry.forEach((entry: unknown, e: number) => {
    if (!entry || typeof entry !== 'object') return;
    const en = entry as Json;
    if (object === 'whatsapp_business_account') {
      items(en.changes).forEach((change, c) => {
        const ch = change as Json | null;
        const value = ch?.value as Json | undefined;
        if (!value || typeof value !== 'object' || ch!.field !== 'messages') return;
        const { messages, statuses, errors: _errors, contacts, ...rest } = value;
        const one = (extra: Json) => ({ object, entry: [{ id: en.id, changes: [{ field: ch!.field, value: { ...rest, ...extra } }] }] });
        items(messages).forEach((m, i) => {
          // Only the profile of this message's sender travels with it.
          const who = [m as Json | null]
            .flatMap((x) => [x?.from, x?.from_user_id, x?.user_id])
            .filter((x) => x !== undefined && x !== null)
            .map(String);
          const matches = (v: unknown) => v !== undefined && v !== null && who.includes(String(v));
          const profiles = items(contacts).filter((p) => matches((p as Json | null)?.wa_id) || matches((p as Json | null)?.user_id));
          out.push({ key: `${e}.${c}.messages.${i}`, body: one({ contacts: profiles, messages: [m] }) });
        });
        items(statuses).forEach((s, i) => out.push({ key: `${e}.${c}.statuses.${i}`, body: one({ statuses: [s] }) }));
      });
      return;
    }
    const head = { id: en.id, time: en.time };
    items(en.messaging).forEach((item, i) => out.push({ key: `${e}.messaging.${i}`, body: { object, entry: [{ ...head, messaging: [item] }] } }));
    items(en.changes).forEach((change, i) => out.push({ key: `${e}.changes.${i}`, body: { object, entry: [{ ...head, changes: [change] }] } }));
  });
  return out;
}
