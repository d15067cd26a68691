import type { Migration } from 'kysely';
import * as m0001 from './0001_foundation.ts';
import * as m0002 from './0002_chats.ts';
import * as m0003 from './0003_search.ts';
import * as m0004 from './0004_read_marks.ts';
import * as m0005 from './0005_thread_version.ts';
import * as m0006 from './0006_whatsapp_templates.ts';
import * as m0007 from './0007_transcription.ts';
import * as m0008 from './0008_posts.ts';
import * as m0009 from './0009_saved_replies.ts';
import * as m0010 from './0010_assignment_notes.ts';
import * as m0011 from './0011_accounts.ts';
import * as m0012 from './0012_two_factor.ts';
import * as m0013 from './0013_webhook_failures.ts';

/** Every migration, in order. Add new files here; names sort in the order they run. */
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_chats': m0002,
  '0003_search': m0003,
  '0004_read_marks': m0004,
  '0005_thread_version': m0005,
  '0006_whatsapp_templates': m0006,
  '0007_transcription': m0007,
  '0008_posts': m0008,
  '0009_saved_replies': m0009,
  '0010_assignment_notes': m0010,
  '0011_accounts': m0011,
  '0012_two_factor': m0012,
  '0013_webhook_failures': m0013,
};
