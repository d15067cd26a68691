import { sql } from 'kysely';
import type { Conn } from '../db/database.ts';

/** A message's audio attachment with what a transcription needs; `channelIds` limits it to the employee's channels. */
export async function findAudioOfMessage(db: Conn, messageId: number, channelIds?: readonly number[]) {
  if (channelIds && channelIds.length === 0) return undefined;
  let q = db
    .selectFrom('attachments as a')
    .innerJoin('messages as m', 'm.id', 'a.message_id')
    .select(['a.id', 'a.kind', 'a.mime', 'a.file_name', 'a.status', 'a.storage_key', 'a.duration_ms', 'a.transcription', 'm.id as message_id', 'm.chat_id', 'm.channel_id', 'm.deleted_at'])
    .where('a.message_id', '=', messageId)
    .where('a.kind', '=', 'audio')
    .orderBy('a.id')
    .limit(1);
  if (channelIds) q = q.where('m.channel_id', 'in', channelIds);
  return q.executeTakeFirst();
}

export type AudioRow = NonNullable<Awaited<ReturnType<typeof findAudioOfMessage>>>;

export async function setDuration(db: Conn, attachmentId: number, durationMs: number | null): Promise<void> {
  await db.updateTable('attachments').set({ duration_ms: durationMs }).where('id', '=', attachmentId).execute();
}

/**
 * Marks a transcription asked for, unless one is running or done: the update is the lock, so
 * two clicks (or two employees) start one. Null when nothing changed.
 */
export async function startTranscription(db: Conn, attachmentId: number, value: Record<string, unknown>) {
  return (
    (await db
      .updateTable('attachments')
      .set({ transcription: JSON.stringify(value) })
      .where('id', '=', attachmentId)
      .where(sql<boolean>`(transcription is null or transcription->>'status' = 'failed')`)
      .returning('id')
      .executeTakeFirst()) ?? null
  );
}

/** Records how a transcription ended, if it is still the one running (a retry may have replaced it). */
export async function finishTranscription(db: Conn, attachmentId: number, requestedAt: string, value: Record<string, unknown>) {
  return (
    (await db
      .updateTable('attachments')
      .set({ transcription: JSON.stringify(value) })
      .where('id', '=', attachmentId)
      .where(sql<boolean>`transcription->>'status' = 'pending' and transcription->>'requestedAt' = ${requestedAt}`)
      .returning('id')
      .executeTakeFirst()) ?? null
  );
}

/** Transcriptions asked for before `before` and still pending (their job was lost: Redis down, a crash). */
export async function pendingTranscriptionsBefore(db: Conn, before: Date, limit: number) {
  return db
    .selectFrom('attachments')
    .select(['message_id'])
    .where(sql<boolean>`transcription->>'status' = 'pending'`)
    .where(sql<boolean>`(transcription->>'requestedAt')::timestamptz < ${before}::timestamptz`)
    .limit(limit)
    .execute();
}

/** Transcriptions still pending long after any job could still be running: given up (Retry offered). */
export async function failStalePending(db: Conn, before: Date, value: Record<string, unknown>) {
  return db
    .updateTable('attachments')
    .set({ transcription: sql`transcription || ${JSON.stringify(value)}::jsonb` })
    .where(sql<boolean>`transcription->>'status' = 'pending'`)
    .where(sql<boolean>`(transcription->>'requestedAt')::timestamptz < ${before}::timestamptz`)
    .returning(['id', 'message_id'])
    .execute();
}
