import type { Db } from '../db/database.ts';
import { jobRef, processorOf } from './jobs/ref.ts';
import { pruneLiveEvents } from './live/live.repository.ts';

/** Live events older than this cannot be replayed; a browser that far behind reloads. */
const LIVE_EVENT_RETENTION_MS = 24 * 3600_000;

/** Hourly housekeeping; its id is the hour, so many workers enqueueing it run it once. */
export const maintenanceRef = jobRef<{ hour: string }>({
  name: 'maintenance',
  jobId: (p) => p.hour,
  options: { attempts: 3, backoffMs: 10_000 },
});

/**
 * What the hourly housekeeping needs: the database, and the features' own chores (expired
 * sessions: auth), passed in by the root so platform imports no feature. They run in order,
 * before the live events are pruned.
 */
export interface MaintenancePorts {
  readonly db: Db;
  readonly chores: ReadonlyArray<(now: Date) => Promise<void>>;
}

export function maintenanceJob(deps: MaintenancePorts) {
  return processorOf(maintenanceRef, async () => {
    const now = new Date();
    for (const chore of deps.chores) await chore(now);
    await pruneLiveEvents(deps.db, new Date(now.getTime() - LIVE_EVENT_RETENTION_MS));
  });
}
