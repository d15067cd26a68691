import { coreEn } from './core.en.ts';
import { coreFr } from './core.fr.ts';
import { crmEn, crmFr } from '../../crm/crm.i18n.ts';
import { chatsEn, chatsFr } from '../../chats/chats.i18n.ts';
import { channelsEn, channelsFr } from '../../channels/channels.i18n.ts';
import { whatsappEn, whatsappFr } from '../../channels/whatsapp/whatsapp.i18n.ts';
import { transcriptionEn, transcriptionFr } from '../../transcription/transcription.i18n.ts';
import { commentsEn, commentsFr } from '../../chats/thread/comments.i18n.ts';
import { savedRepliesEn, savedRepliesFr } from '../../chats/saved-replies/saved-replies.i18n.ts';
import { teamEn, teamFr } from '../../chats/team/team.i18n.ts';
import { shopEn, shopFr } from '../../shop/shop.i18n.ts';
import { authEn, authFr } from '../../auth/auth.i18n.ts';
import { twoFactorEn, twoFactorFr } from '../../auth/two-factor.i18n.ts';

/**
 * Every visible string, per language. Each feature owns its dictionary (`*.i18n.ts`), typed so
 * that a French key missing from a feature is a compile error.
 */
export const en = { ...coreEn, ...crmEn, ...chatsEn, ...channelsEn, ...whatsappEn, ...transcriptionEn, ...commentsEn, ...savedRepliesEn, ...teamEn, ...shopEn, ...authEn, ...twoFactorEn };
export type MessageKey = keyof typeof en;
export const fr: Record<MessageKey, string> = { ...coreFr, ...crmFr, ...chatsFr, ...channelsFr, ...whatsappFr, ...transcriptionFr, ...commentsFr, ...savedRepliesFr, ...teamFr, ...shopFr, ...authFr, ...twoFactorFr };
