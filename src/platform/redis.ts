import type { Redis } from 'ioredis';

/**
 * Resolves true once `conn` is ready, false as soon as it is known to be down. A connection
 * that is still being established (just after boot) is waited for briefly, so the first job
 * or live event of a fresh process is not dropped; one that is down or reconnecting fails at
 * once, so producers still fail fast while Redis is away.
 */
export function redisReady(conn: Redis, timeoutMs = 2000): Promise<boolean> {
  if (conn.status === 'ready') return Promise.resolve(true);
  if (conn.status !== 'connecting' && conn.status !== 'connect' && conn.status !== 'wait') return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      conn.off('ready', onReady);
      conn.off('close', onDown);
      conn.off('end', onDown);
      resolve(ok);
    };
    const onReady = () => done(true);
    const onDown = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    conn.on('ready', onReady);
    conn.on('close', onDown);
    conn.on('end', onDown);
  });
}
