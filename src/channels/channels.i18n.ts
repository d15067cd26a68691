/** Strings of Settings › Chats (connecting and configuring channels). */
export const channelsEn = {
  'channels.title': 'Chats',
} as const;

export const channelsFr: Record<keyof typeof channelsEn, string> = {
  'channels.title': 'Chats',
};
