/** Strings of the Chats page and channels. */
export const chatsEn = {
  'chats.title': 'Chats',
} as const;

export const chatsFr: Record<keyof typeof chatsEn, string> = {
  'chats.title': 'Chats',
};
