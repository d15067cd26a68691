// A small multipart/form-data parser (the emulator must not depend on packages Parley does not
// ship). Enough for Graph uploads: `filedata` on the Send API / Attachment Upload API and
// `file` on WhatsApp's /media, plus the UI's file inputs.

export interface UploadedFile {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface MultipartBody {
  fields: Record<string, string>;
  files: Record<string, UploadedFile>;
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return match?.[1] ?? match?.[2];
}

function headerParam(header: string, name: string): string | undefined {
  const re = new RegExp(`${name}\\*?=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, 'i');
  const match = re.exec(header);
  const value = match?.[1] ?? match?.[2];
  if (value === undefined) return undefined;
  if (/^utf-8''/i.test(value)) return decodeURIComponent(value.slice(7));
  return value.replace(/\\(.)/g, '$1');
}

export function parseMultipart(body: Buffer, boundary: string): MultipartBody {
  const out: MultipartBody = { fields: {}, files: {} };
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new Error('multipart boundary not found');
  while (pos >= 0) {
    pos += delimiter.length;
    // "--" after a delimiter ends the body.
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) throw new Error('malformed multipart part');
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) throw new Error('unterminated multipart part');
    const data = body.subarray(headerEnd + 4, next);
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = headerParam(disposition, 'name') ?? '';
    const filename = headerParam(disposition, 'filename');
    const contentType = (/content-type:\s*([^\r\n]*)/i.exec(headers)?.[1] ?? 'application/octet-stream').trim();
    if (filename !== undefined) out.files[name] = { field: name, filename, contentType, data: Buffer.from(data) };
    else out.fields[name] = data.toString('utf8');
    pos = next + 2;
  }
  return out;
}
