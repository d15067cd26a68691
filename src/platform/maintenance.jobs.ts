import type { Deps } from '../deps.ts';
import { deleteExpiredSessions } from '../auth/auth.repository.ts';
import { defineJob } from './jobs/types.ts';
import { pruneLiveEvents } from './live/live.repository.ts';

/** Live events older than this cannot be replayed; a browser that far behind reloads. */
const LIVE_EVENT_RETENTION_MS = 24 * 3600_000;

/** Hourly housekeeping; its id is the hour, so many workers enqueueing it run it once. */
export function maintenanceJob(deps: Deps) {
  return defineJob<{ hour: string }>({
    name: 'maintenance',
    jobId: (p) => p.hour,
    options: { attempts: 3, backoffMs: 10_000 },
    async process() {
      const now = new Date();
      await deleteExpiredSessions(deps.db, now, new Date(now.getTime() - deps.sessionPolicy.idleMs));
      await pruneLiveEvents(deps.db, new Date(now.getTime() - LIVE_EVENT_RETENTION_MS));
    },
  });
}
