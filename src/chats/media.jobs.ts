import type { Deps } from '../deps.ts';
import { defineJob } from '../platform/jobs/types.ts';
import { inTransaction } from '../platform/tx.ts';
import { DownloadRefused, safeDownload } from '../platform/safe-download.ts';
import { publishChatChange } from './chats.live.ts';

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
      const a = await deps.db
        .selectFrom('attachments')
        .innerJoin('messages', 'messages.id', 'attachments.message_id')
        .select(['attachments.id', 'attachments.status', 'attachments.source_url', 'attachments.mime', 'attachments.file_name', 'messages.chat_id', 'messages.id as message_id'])
        .where('attachments.id', '=', attachmentId)
        .executeTakeFirst();
      if (!a || a.status !== 'pending' || !a.source_url) return;
      let outcome: { status: 'stored'; key: string; size: number; mime: string | null; fileName: string | null } | { status: 'failed'; reason: string };
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
        await tx.db
          .updateTable('attachments')
          .set(
            outcome.status === 'stored'
              ? { status: 'stored', storage_key: outcome.key, size_bytes: outcome.size, mime: outcome.mime, file_name: outcome.fileName, source_url: null }
              : { status: 'failed', status_reason: outcome.reason },
          )
          .where('id', '=', attachmentId)
          .execute();
        await publishChatChange(deps, tx, a.chat_id, { changedMessageIds: [a.message_id] });
      });
    },
  });
}
