/**
 * WhatsApp failure codes Parley explains in its own words (meta-platform.md §6). A send can
 * fail synchronously (Graph error) or later, as a `failed` status webhook (§4.4, §4.6): both
 * end here, so the thread says the same thing either way.
 */
import { I18N_REASON } from '../../platform/i18n/reasons.ts';

/** Code → message key (chats.i18n.ts). */
const KNOWN: Record<number, string> = {
  131047: 'chats.error.wa_window',
  131026: 'chats.error.wa_undeliverable',
  131056: 'chats.error.wa_pair_rate',
  130429: 'chats.error.wa_throughput',
  131049: 'chats.error.wa_ecosystem',
  131050: 'chats.error.wa_stopped_marketing',
  131053: 'chats.error.wa_media',
  131052: 'chats.error.wa_media',
  132000: 'chats.error.wa_template_params',
  132001: 'chats.error.wa_template_missing',
  132015: 'chats.error.wa_template_paused',
  132016: 'chats.error.wa_template_paused',
};

/**
 * Reasons after which sending the same message again cannot succeed: the composer's Retry is
 * not offered (131047 needs a template; the others need the person or the template to change).
 */
export const NO_RETRY_REASONS: ReadonlySet<string> = new Set([131047, 131026, 131050, 132000, 132001, 132015, 132016].map((c) => I18N_REASON + KNOWN[c]));

/** The reason stored on a failed message: a message key for known codes, the platform's words otherwise. */
export function whatsappFailureReason(code: number | undefined, title?: string, details?: string): string {
  const key = code !== undefined && Object.hasOwn(KNOWN, code) ? KNOWN[code] : undefined;
  if (key) return I18N_REASON + key;
  const words = [title, details && details !== title ? details : undefined].filter(Boolean).join(': ');
  if (!words) return I18N_REASON + 'chats.error.wa_failed';
  return code !== undefined ? `${words} (code ${code})` : words;
}
