/**
 * What the transcription feature needs from the outside. Transcription sits above chats (it
 * re-renders a chat's message live and reads who may see a chat through chats' functions), so
 * its ports are chats' ports plus the app's folder; functions take `Pick<TranscriptionPorts, …>`
 * of what they use, and the composition root (`deps.ts`) satisfies them structurally. Nothing
 * under `src/transcription` imports `deps.ts`, `jobs.ts`, `app.ts` or `runtime.ts`.
 */
import type { ChatsPorts } from '../chats/ports.ts';

export interface TranscriptionPorts extends ChatsPorts {
  /** The app's folder (Settings › Transcription's Test reads assets/transcription-sample.ogg). */
  readonly root: string;
}
