/**
 * PostgreSQL unreachable or restarting, as the `pg` driver reports it: a connection refused or
 * cut, the server shutting down or still recovering (`57P01`–`57P03`), SQLSTATE class 08. Not
 * a failure of the statement itself: the same work succeeds once the server is back.
 */
export function databaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code.startsWith('08') || code.startsWith('57P') || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /connection terminated|connection ended|terminating connection|not queryable|the database system is (starting up|shutting down|in recovery mode)/i.test(message);
}
