/** E1: Parley's own limit, counted in characters as a person counts them. */
export const MAX_TEXT_LENGTH = 1000;

export function textLength(text: string): number {
  return [...text].length;
}

/** Returns the message key of what is wrong with the text, or null. */
export function checkText(text: string): { key: 'chats.composer.empty' | 'chats.composer.too_long'; n: number } | null {
  const n = textLength(text);
  if (text.trim().length === 0) return { key: 'chats.composer.empty', n };
  if (n > MAX_TEXT_LENGTH) return { key: 'chats.composer.too_long', n };
  return null;
}
