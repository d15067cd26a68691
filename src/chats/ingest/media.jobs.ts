import type { ChatsPorts, ChangePorts, RuntimePorts } from '../ports.ts';
import { inTransaction } from '../../platform/tx.ts';
import { DownloadRefused, safeDownload, type DownloadPolicy, type Downloaded } from '../../platform/safe-download.ts';
import { loadRuntime } from '../../channels/runtimes.ts';
import { PlatformError } from '../../channels/adapter.ts';
import { audioDurationMs } from '../../platform/audio-duration.ts';
import { publishChatChange } from '../live/chats.live.ts';
import { findAttachmentToDownload, recordAttachmentDownload, type DownloadOutcome } from './ingest.repository.ts';
import { downloadMediaRef } from './ingest.refs.ts';
import { processorOf } from '../../platform/jobs/ref.ts';

const EXT: Record<string, string> = {
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'audio/mpeg': '.mp3',
  'audio/ogg': '.ogg',
  'audio/mp4': '.m4a',
  'audio/aac': '.aac',
  'audio/wav': '.wav',
  'audio/x-wav': '.wav',
  'video/mp4': '.mp4',
  'video/webm': '.webm',
  'application/pdf': '.pdf',
};

/**
 * Downloads an inbound attachment into Parley's storage (§8: platform URLs expire), through
 * the SSRF-safe fetcher. A refusal (host not allowed, too large, gone) marks it failed and the
 * thread shows a clear placeholder; network trouble is retried.
 */
export function downloadMediaJob(deps: ChangePorts & RuntimePorts & Pick<ChatsPorts, 'storage'>) {
  return processorOf(downloadMediaRef, async ({ attachmentId }, ctx) => {
    const a = await findAttachmentToDownload(deps.db, attachmentId);
    if (a?.status !== 'pending' || !a.source_url) return;
    let outcome: DownloadOutcome;
    try {
      const policy: DownloadPolicy = {
        allowedHosts: deps.config.media.allowedHosts,
        trustedPrivateHosts: deps.config.media.trustedPrivateHosts,
        maxBytes: deps.config.media.maxBytes,
        timeoutMs: 30_000,
      };
      const mediaId = a.source_url.startsWith(MEDIA_ID) ? a.source_url.slice(MEDIA_ID.length) : null;
      const file = mediaId ? await downloadByMediaId(deps, a.channel_id, mediaId, policy) : await safeDownload(a.source_url, policy);
      const mime = file.contentType ?? a.mime;
      const key = deps.storage.newKey(EXT[mime ?? ''] ?? '');
      await deps.storage.put(key, file.body);
      // G1: a recording's length comes from the file itself (never the platform's word).
      const durationMs = mime?.startsWith('audio/') || mime?.startsWith('video/') ? await audioDurationMs(file.body, mime) : null;
      outcome = { status: 'stored', key, size: file.body.length, mime, fileName: a.file_name ?? file.fileName, durationMs };
    } catch (err) {
      const permanent = (err instanceof DownloadRefused && err.permanent) || (err instanceof PlatformError && !err.opts.retryable);
      if (!permanent && ctx.attempt < 5) throw err;
      deps.logger.warn({ attachmentId, reason: (err as Error).message }, 'media not downloaded');
      outcome = { status: 'failed', reason: (err as Error).message.slice(0, 300) };
    }
    await inTransaction(deps.db, deps.logger, async (tx) => {
      await recordAttachmentDownload(tx.db, attachmentId, outcome);
      await publishChatChange(deps, tx, a.chat_id, { changedMessageIds: [a.message_id] });
    });
  });
}

/** How ingest records an attachment known by a platform media id instead of a URL (WhatsApp). */
export const MEDIA_ID = 'media-id:';

/**
 * WhatsApp media (§4.2): ask the platform for a URL (it lives 5 minutes), then download it at
 * once with the Bearer token. A URL that expired before it was used (404: the job waited, the
 * download was slow) is asked for again once; the media id itself lives 7 days, after which
 * the platform refuses it for good (§10.12).
 */
export async function downloadByMediaId(deps: RuntimePorts, channelId: number, mediaId: string, policy: DownloadPolicy, resolveFirst?: () => Promise<string>): Promise<Downloaded> {
  const channel = await loadRuntime(deps, channelId);
  const adapter = channel ? deps.adapters.get(channel.kind) : undefined;
  if (!channel || !adapter?.mediaSource) throw new DownloadRefused('the channel cannot fetch this media', true);
  for (let attempt = 0; ; attempt++) {
    const source = await adapter.mediaSource(channel, mediaId);
    if (source.sizeBytes !== undefined && source.sizeBytes > policy.maxBytes) throw new DownloadRefused(`file too large (${source.sizeBytes} bytes)`, true);
    const url = attempt === 0 && resolveFirst ? await resolveFirst() : source.url;
    const bearer = source.bearerToken ? { token: source.bearerToken, hosts: [new URL(url).hostname] } : undefined;
    try {
      const file = await safeDownload(url, { ...policy, ...(bearer ? { bearer } : {}) });
      return { ...file, contentType: file.contentType ?? source.mime ?? null };
    } catch (err) {
      if (attempt === 0 && err instanceof DownloadRefused && /^HTTP (404|410)$/.test(err.message)) continue;
      throw err;
    }
  }
}
