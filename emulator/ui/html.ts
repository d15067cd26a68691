// HTML helpers for the emulator's pages. Everything that can come from a user (names, message
// text, captions, file names, URLs) goes through `esc` or the `html` tag, which escapes every
// interpolated value unless it is a `Raw` fragment built by these helpers.

export class Raw {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function esc(value: unknown): string {
  if (value === undefined || value === null) return '';
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

type Interpolated = Raw | string | number | boolean | null | undefined | Interpolated[];

function render(value: Interpolated): string {
  if (value instanceof Raw) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === false || value === null || value === undefined) return '';
  return esc(value);
}

/** Tagged template: `html\`<p>${userText}</p>\`` escapes userText. */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): Raw {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new Raw(out);
}

/** Only http(s) and relative URLs may go into href/src (no `javascript:`). */
export function safeUrl(url: string | undefined): string {
  if (!url) return '#';
  return /^(https?:\/\/|\/)/i.test(url) ? url : '#';
}

export function page(title: string, body: Raw, options: { refreshScript?: boolean } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Meta platform emulator</title>
<link rel="stylesheet" href="/ui/assets/app.css">
${options.refreshScript ? '<script src="/ui/assets/app.js" defer></script>' : ''}
</head>
<body>
<header class="top"><a href="/ui" class="brand">Meta platform emulator</a>
<nav><a href="/ui">Home</a> <a href="/ui/posts">Posts</a> <a href="/ui/log">Log</a> <a href="/_emulator/state">State (JSON)</a></nav></header>
<main>${body.value}</main>
</body>
</html>`;
}

export function fmtTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
