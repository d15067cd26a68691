import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError, ValidationError } from '../platform/errors.ts';
import { redirect, wantsFragment } from '../platform/htmx.ts';
import { idParam } from '../platform/http-params.ts';
import { baseUrlProblem } from './http-transcriber.ts';
import { privateAddressOf } from '../platform/safe-download.ts';
import { audioFromBuffer } from './transcriber.ts';
import { chatHelpers } from '../chats/chats.view.ts';
import { currentTranscriber, readEngine, saveEngine } from './engine.ts';
import { failureOf, requestTranscription, transcribeWithin } from './transcription.service.ts';
import type { TranscriptionPorts } from './ports.ts';

type P = { id: string; mid: string };
type Body = Record<string, string | undefined>;

/** The recording Settings › Transcription's Test button transcribes (a short voice note), under the app's folder. */
export const sampleAudioPath = (root: string) => join(root, 'assets', 'transcription-sample.ogg');
/** Languages offered for a fixed transcription language (otherwise the engine detects it). */
export const LANGUAGES = ['en', 'fr', 'ru', 'uk', 'de', 'es', 'it', 'pt', 'nl', 'pl', 'ar', 'tr'] as const;

function messageIdOf(raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new NotFoundError();
  return n;
}

/** G1 (the thread's Transcribe and Retry) and Settings › Transcription (admins). */
export function transcriptionRoutes(deps: TranscriptionPorts) {
  const SAMPLE_AUDIO = sampleAudioPath(deps.root);
  const settingsPage = async (reply: FastifyReply, extra: Record<string, unknown> = {}, status?: number) => {
    const engine = await readEngine(deps);
    const { apiKey: _secret, ...shown } = engine;
    const values = { engine: engine.engine === 'http' && engine.source === 'settings' ? 'http' : 'none', base_url: engine.baseUrl ?? '', model: engine.model ?? '', language: engine.language ?? '' };
    return reply.view('settings/transcription', { engine: shown, values, errors: {}, test: null, languages: LANGUAGES, ...extra }, status);
  };

  return async (app: FastifyInstance) => {
    // The settings page names languages as the composer does (`it.h.language`).
    app.addHook('preHandler', async (req) => {
      (req as FastifyRequest & { viewExtras?: Record<string, unknown> }).viewExtras = { h: chatHelpers(req.t) };
    });

    app.post('/chats/:id/messages/:mid/transcribe', { config: { access: 'chats' } }, async (req: FastifyRequest<{ Params: P }>, reply) => {
      const chatId = idParam(req);
      try {
        await requestTranscription(deps, req.auth!, chatId, messageIdOf(req.params.mid));
      } catch (err) {
        // A refusal (too long, file missing) is a 422 the thread already explains.
        if (err instanceof ValidationError && wantsFragment(req)) return reply.code(422).send();
        if (!(err instanceof ValidationError)) throw err;
      }
      if (wantsFragment(req)) return reply.code(204).send();
      return redirect(req, reply, `/chats/${chatId}`);
    });

    app.get('/settings/transcription', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Querystring: { saved?: string } }>, reply) =>
      settingsPage(reply, { saved: req.query.saved === '1' }),
    );

    app.post('/settings/transcription', { config: { access: 'admin' } }, async (req: FastifyRequest<{ Body: Body }>, reply) => {
      const b = req.body ?? {};
      const engine = b.engine === 'http' ? 'http' : 'none';
      const values = { engine, base_url: (b.base_url ?? '').trim(), model: (b.model ?? '').trim(), language: (b.language ?? '').trim() };
      const errors: Record<string, string> = {};
      if (engine === 'http') {
        if (!values.base_url) errors.base_url = 'validation.required';
        else if (baseUrlProblem(values.base_url)) errors.base_url = 'transcribe.settings.bad_url';
        // The URL receives the API key: not inside the network unless the operator allows it
        // (checked again when the request connects: a name may resolve elsewhere later).
        else if (!deps.config.transcription.allowPrivate && (await privateAddressOf(values.base_url))) errors.base_url = 'transcribe.settings.private_url';
        if (!values.model) errors.model = 'validation.required';
        else if (!/^[\w.:/@-]{1,100}$/.test(values.model)) errors.model = 'transcribe.settings.bad_model';
      }
      if (values.language && !(LANGUAGES as readonly string[]).includes(values.language)) errors.language = 'validation.choice';
      const apiKey = (b.api_key ?? '').trim();
      if (apiKey && (apiKey.length > 500 || !/^[\x21-\x7e]+$/.test(apiKey))) errors.api_key = 'transcribe.settings.bad_key';
      if (Object.keys(errors).length) return settingsPage(reply, { values, errors }, 422);
      await saveEngine(deps, {
        engine,
        baseUrl: values.base_url.replace(/\/+$/, ''),
        model: values.model,
        ...(apiKey ? { apiKey } : {}),
        clearApiKey: b.clear_api_key === 'on',
        language: values.language || null,
      });
      req.log.info({ engine }, 'transcription settings saved');
      return redirect(req, reply, '/settings/transcription?saved=1');
    });

    // Transcribes the bundled sample with the engine as configured now: the answer, or the exact error.
    app.post('/settings/transcription/test', { config: { access: 'admin' } }, async (_req, reply) => {
      const engine = await currentTranscriber(deps);
      if (!engine) return settingsPage(reply, { test: { ok: false, key: 'transcribe.error.not_configured' } }, 422);
      const started = Date.now();
      try {
        const data = await readFile(SAMPLE_AUDIO);
        const r = await transcribeWithin(engine.transcriber, audioFromBuffer(data, 'transcription-sample.ogg', 'audio/ogg'), engine.language, 30_000);
        return settingsPage(reply, { test: { ok: true, text: r.text, language: r.language, ms: Date.now() - started, engine: engine.transcriber.label } });
      } catch (err) {
        const f = failureOf(err);
        return settingsPage(
          reply,
          { test: { ok: false, key: 'transcribe.settings.test_failed', reason: { key: f.key, params: f.params ?? {} }, detail: f.detail, engine: engine.transcriber.label } },
          422,
        );
      }
    });
  };
}
