// Body parsers shared by the Graph double, the control API and the UI: JSON (empty body allowed),
// form-encoded (repeated keys become arrays) and multipart (files kept as Buffers).
import type { FastifyInstance } from 'fastify';
import { boundaryOf, parseMultipart, type UploadedFile } from './graph/multipart.ts';

export class MultipartPayload {
  constructor(
    readonly fields: Record<string, string>,
    readonly files: Record<string, UploadedFile>,
  ) {}
}

class BodyError extends Error {
  readonly statusCode = 400;
}

export function parseForm(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const existing = out[key];
    if (existing === undefined) out[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[key] = [existing, value];
  }
  return out;
}

export function registerBodyParsers(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (!text) return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new BodyError('Invalid JSON body'), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, parseForm(String(body)));
  });
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (req, body, done) => {
    const boundary = boundaryOf(req.headers['content-type']);
    if (!boundary) return done(new BodyError('multipart body without boundary'), undefined);
    try {
      const parsed = parseMultipart(body as Buffer, boundary);
      done(null, new MultipartPayload(parsed.fields, parsed.files));
    } catch (err) {
      done(new BodyError((err as Error).message), undefined);
    }
  });
  // Anything else (text/plain, no content type with a body…): try JSON, else ignore.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (!text) return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      done(null, parseForm(text));
    }
  });
}
