import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { JobQueue } from './jobs/types.ts';

/** GET /healthz: 200 when the database (and Redis, when configured) answer; 503 otherwise. */
export function healthRoutes(deps: { readonly db: Db; readonly config: Pick<Config, 'redisUrl' | 'embedded'>; readonly queue: Pick<JobQueue, 'kind'> }) {
  let redis: Redis | undefined;
  return async (app: FastifyInstance) => {
    app.addHook('onClose', async () => redis?.disconnect());
    app.get('/healthz', { config: { access: 'public' } }, async (_req, reply) => {
      const database = await withTimeout(
        sql`select 1`.execute(deps.db).then(() => 'up' as const),
        2000,
      );
      let redisState: 'up' | 'down' | 'not configured' = 'not configured';
      if (deps.config.redisUrl) {
        if (!redis) {
          redis = new Redis(deps.config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
          // Once per client, not per request: a listener per health check grows without bound.
          redis.on('error', () => {});
        }
        if (redis.status === 'wait' || redis.status === 'end') await redis.connect().catch(() => {});
        redisState = await withTimeout(
          redis.ping().then(() => 'up' as const),
          1000,
        );
      }
      const ok = database === 'up' && redisState !== 'down';
      return reply
        .code(ok ? 200 : 503)
        .header('cache-control', 'no-store')
        .send({ status: ok ? 'ok' : 'degraded', database, redis: redisState, mode: deps.config.embedded ? 'embedded' : 'postgres', queue: deps.queue.kind });
    });
  };
}

async function withTimeout(p: Promise<'up'>, ms: number): Promise<'up' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'down'>((r) => (timer = setTimeout(() => r('down'), ms)))]);
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
