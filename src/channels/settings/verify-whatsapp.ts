/**
 * Connecting a WhatsApp number (B2 for WhatsApp, meta-platform.md §4, §1.5): the phone number
 * id, its WhatsApp Business Account (WABA) id and a system user's permanent token. The token is
 * checked against the number (`GET /{phone-number-id}`: display number and verified name), the
 * number against the WABA (`GET /{waba-id}/phone_numbers`), then the WABA is subscribed to the
 * app (`POST /{waba-id}/subscribed_apps`); only then is the token stored, encrypted.
 */
import { PlatformError } from '../adapter.ts';
import type { ChannelsPorts } from '../ports.ts';
import { ConnectError } from './forms.ts';
import { graphClient, type VerifiedAccount } from './verify.ts';

export interface WhatsAppNumber {
  id?: string;
  display_phone_number?: string;
  verified_name?: string;
}

function failure(err: unknown, key = 'channels.error.platform'): unknown {
  if (!(err instanceof PlatformError)) return err;
  if (err.opts.code === 190 || err.opts.reconnect) return new ConnectError({ token: 'channels.error.token_invalid' }, err.reason);
  if (err.opts.code === undefined && err.opts.retryable) return new ConnectError({ form: 'channels.error.unreachable' }, err.reason);
  // 100 "Unsupported get request": the id is not a number this token can see.
  if (err.opts.code === 100) return new ConnectError({ external_id: 'channels.error.wa_number_unknown' }, err.reason);
  return new ConnectError({ form: key }, err.reason);
}

/** The verified number as Parley stores it: external id = phone number id, parent = WABA. */
export async function verifyWhatsApp(deps: Pick<ChannelsPorts, 'config'>, phoneNumberId: string, wabaId: string, token: string): Promise<VerifiedAccount> {
  const graph = graphClient(deps);
  let number: WhatsAppNumber;
  try {
    number = (await graph.get<WhatsAppNumber | null>(phoneNumberId, token, { fields: 'id,display_phone_number,verified_name,quality_rating' })) ?? {};
  } catch (err) {
    throw failure(err);
  }
  if (number.id && String(number.id) !== phoneNumberId) throw new ConnectError({ external_id: 'channels.error.wa_number_unknown' });
  try {
    const list = await graph.get<{ data?: WhatsAppNumber[] } | null>(`${wabaId}/phone_numbers`, token, { fields: 'id,display_phone_number', limit: 100 });
    if (!(list?.data ?? []).some((n) => String(n.id) === phoneNumberId)) throw new ConnectError({ waba_id: 'channels.error.wa_not_in_waba' });
  } catch (err) {
    if (err instanceof PlatformError && err.opts.code === 100) throw new ConnectError({ waba_id: 'channels.error.wa_waba_unknown' }, err.reason);
    throw failure(err);
  }
  const display = number.display_phone_number ? (number.display_phone_number.startsWith('+') ? number.display_phone_number : '+' + number.display_phone_number) : '';
  return {
    kind: 'whatsapp',
    externalId: phoneNumberId,
    parentExternalId: wabaId,
    platformName: [number.verified_name, display].filter(Boolean).join(' ') || phoneNumberId,
    pageId: wabaId,
    token,
    settings: { displayPhoneNumber: display || undefined },
  };
}

/** §1.5: WhatsApp webhooks flow once the WABA is subscribed to the app (fields are chosen at the app). */
export async function subscribeWaba(deps: Pick<ChannelsPorts, 'config'>, acct: VerifiedAccount): Promise<void> {
  try {
    await graphClient(deps).post(`${acct.pageId}/subscribed_apps`, acct.token);
  } catch (err) {
    throw failure(err, 'channels.error.subscribe');
  }
}
