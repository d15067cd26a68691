/**
 * A stored reason (a failed message's, a channel's) that is Parley's own is a message key with
 * this prefix, so the view translates it into the reader's language; any other reason is the
 * platform's own words, shown as they are.
 */
export const I18N_REASON = 'i18n:';
