import { addDictionaries } from './platform/i18n/index.ts';
import { crmEn, crmFr } from './crm/crm.i18n.ts';
import { chatsEn, chatsFr } from './chats/chats.i18n.ts';
import { channelsEn, channelsFr } from './channels/channels.i18n.ts';
import { whatsappEn, whatsappFr } from './channels/whatsapp/whatsapp.i18n.ts';
import { transcriptionEn, transcriptionFr } from './transcription/transcription.i18n.ts';
import { commentsEn, commentsFr } from './chats/thread/comments.i18n.ts';
import { savedRepliesEn, savedRepliesFr } from './chats/saved-replies/saved-replies.i18n.ts';
import { teamEn, teamFr } from './chats/team/team.i18n.ts';
import { shopEn, shopFr } from './shop/shop.i18n.ts';
import { authEn, authFr } from './auth/auth.i18n.ts';
import { twoFactorEn, twoFactorFr } from './auth/two-factor.i18n.ts';

/**
 * Every feature's visible strings, per language, assembled by the root: each feature owns its
 * dictionary (`*.i18n.ts`), typed so that a French key missing from a feature is a compile
 * error; platform/i18n holds only core's and takes these at start (`useFeatureDictionaries`,
 * from deps.ts), so platform imports no feature. Merged in this order, after core's.
 */
export const featuresEn = { ...crmEn, ...chatsEn, ...channelsEn, ...whatsappEn, ...transcriptionEn, ...commentsEn, ...savedRepliesEn, ...teamEn, ...shopEn, ...authEn, ...twoFactorEn };
export const featuresFr: Record<keyof typeof featuresEn, string> = {
  ...crmFr,
  ...chatsFr,
  ...channelsFr,
  ...whatsappFr,
  ...transcriptionFr,
  ...commentsFr,
  ...savedRepliesFr,
  ...teamFr,
  ...shopFr,
  ...authFr,
  ...twoFactorFr,
};

declare module './platform/i18n/index.ts' {
  /** The features' keys join core's: `t('clients.title')` type-checks, a key no dictionary has does not. */
  interface MessageKeys extends Record<keyof typeof featuresEn, true> {}
}

/** Adds the features' strings to platform/i18n's (idempotent: every process's deps call it). */
export function useFeatureDictionaries(): void {
  addDictionaries({ en: featuresEn, fr: featuresFr });
}
