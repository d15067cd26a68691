import type { Deps } from '../deps.ts';
import { defineJob } from '../platform/jobs/types.ts';
import { inTransaction } from '../platform/tx.ts';
import { DownloadRefused, safeDownload } from '../platform/safe-download.ts';
import { publishChatChange } from './chats.live.ts';
import { findAttachmentToDownload, recordAttachmentDownload, type DownloadOutcome } from './chats.repository.ts';

const EXT: Record<string, string> = {
  'image/jpeg': '.jpg', 'image/png': '.png', 'image/gif': '.gif', 'image/webp': '.webp',
  'audio/mpeg': '.mp3', 'audio/ogg': '.ogg', 'audio/mp4': '.m4a', 'audio/aac': '.aac', 'audio/wav': '.wav', 'audio/x-wav': '.wav',
  'video/mp4': '.mp4', 'video/webm': '.webm', 'application/pdf': '.pdf',
};

/**
 * Downloads an inbound attachment into Parley's storage (§8: platform URLs expire), through
 * the SSRF-safe fetcher. A refusal (host not allowed, too large, gone) marks it failed and the
 * thread shows a clear placeholder; network trouble is retried.
 */
export function downloadMediaJob(deps: Deps) {
  return defineJob<{ attachmentId: number }>({
    name: 'download-media',
    jobId: (p) => String(p.attachmentId),
    options: { attempts: 5, backoffMs: 2000 },
    async process({ attachmentId }, ctx) {
      const a = await findAttachmentToDownload(deps.db, attachmentId);
      if (!a || a.status !== 'pending' || !a.source_url) return;
      let outcome: DownloadOutcome;
      try {
        const file = await safeDownload(a.source_url, {
          allowedHosts: deps.config.media.allowedHosts,
          trustedPrivateHosts: deps.config.media.trustedPrivateHosts,
          maxBytes: deps.config.media.maxBytes,
          timeoutMs: 30_000,
        });
        const mime = file.contentType ?? a.mime;
        const key = deps.storage.newKey(EXT[mime ?? ''] ?? '');
        await deps.storage.put(key, file.body);
        outcome = { status: 'stored', key, size: file.body.length, mime, fileName: a.file_name ?? file.fileName };
      } catch (err) {
        const permanent = err instanceof DownloadRefused && err.permanent;
        if (!permanent && ctx.attempt < 5) throw err;
        deps.logger.warn({ attachmentId, reason: (err as Error).message }, 'media not downloaded');
        outcome = { status: 'failed', reason: (err as Error).message.slice(0, 300) };
      }
      await inTransaction(deps.db, deps.logger, async (tx) => {
        await recordAttachmentDownload(tx.db, attachmentId, outcome);
        await publishChatChange(deps, tx, a.chat_id, { changedMessageIds: [a.message_id] });
      });
    },
  });
}
