import pg from 'pg';

/**
 * A `pg` client that runs every parameterized query as a named prepared statement, so that
 * PostgreSQL parses each distinct SQL text once per connection instead of on every request
 * (and may reuse its plan). Measured on the Chats page: planning was most of PostgreSQL's time
 * per statement (0.1–0.2 ms planning for 0.02–0.08 ms of execution).
 *
 * Names are shared by all connections (`p1`, `p2`, … per distinct text in this process). The
 * number of names is bounded: texts that vary without end (an `IN` list of every length) stop
 * being prepared once the budget is spent, and run as ordinary unnamed queries.
 *
 * It also sends a transaction's closing statement and its COMMIT in one round trip (see
 * `COMMITS_TRANSACTION`).
 */
const MAX_PREPARED = 2000;
const names = new Map<string, string>();

function nameFor(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_PREPARED) {
    name = `p${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}

/**
 * A statement whose text starts with this comment is its transaction's last: the client sends
 * COMMIT right behind it, before the statement's answer comes back, and then answers the
 * COMMIT that Kysely sends next itself. Live events need it: their statement takes a lock that
 * is held until commit, and waiting for this process to get round to sending COMMIT (a busy
 * worker's event loop) was most of the lock's hold time, so writers queued on it (P3).
 * Elsewhere (PGlite) the comment is only a comment.
 */
export const COMMITS_TRANSACTION = '/* and commit */';

type Callback = (err: Error | null, result?: unknown) => void;

/**
 * pg's extended-protocol query, plus Parse/Bind/Execute of COMMIT before the Sync. If the
 * statement fails, PostgreSQL skips the COMMIT (everything up to the Sync is discarded) and
 * the transaction stays open and aborted, for the caller's ROLLBACK, as usual.
 */
class QueryThenCommit extends (pg.Query as unknown as new (config: object) => PgQueryInternals) {
  override _getRows(connection: PgConnection, rows: number | undefined) {
    connection.execute({ portal: this.portal, rows });
    connection.parse({ text: 'commit', name: '', types: [] });
    connection.bind({ portal: '', statement: '', values: [] });
    connection.execute({ portal: '', rows: undefined });
    connection.sync();
  }

  override handleCommandComplete(msg: { text?: string }, connection: PgConnection) {
    // The COMMIT's completion is not part of the statement's result.
    if (msg.text !== 'COMMIT' && msg.text !== 'ROLLBACK') super.handleCommandComplete(msg, connection);
  }
}

interface PgQueryInternals {
  portal: string;
  _getRows(connection: PgConnection, rows: number | undefined): void;
  handleCommandComplete(msg: { text?: string }, connection: PgConnection): void;
}

interface PgConnection {
  execute(o: { portal: string; rows: number | undefined }): void;
  parse(o: { text: string; name: string; types: unknown[] }): void;
  bind(o: { portal: string; statement: string; values: unknown[] }): void;
  sync(): void;
}

export class PreparingClient extends pg.Client {
  /** The last statement committed its transaction; Kysely's COMMIT is answered here. */
  private committedAhead = false;

  // pg's overloads are many; Kysely only ever calls query(text, values).
  override query(...args: unknown[]): never {
    const [text, values] = args;
    if (typeof text === 'string' && Array.isArray(values) && args.length === 2) {
      if (this.committedAhead) return this.afterCommittedAhead(text) as never;
      const name = nameFor(text);
      // Outside an open transaction (status T) there is nothing to commit: an ordinary statement.
      if (this.getTransactionStatus() === 'T' && text.startsWith(COMMITS_TRANSACTION)) return this.queryThenCommit(text, values, name) as never;
      if (name) return (super.query as (c: unknown) => never)({ name, text, values });
    }
    return (super.query as (...a: unknown[]) => never)(...args);
  }

  /**
   * Like a failed COMMIT, a failure here may come after the server committed (the connection
   * dropped, or a row could not be parsed): the caller learns the unit failed, and whatever it
   * committed is found by the usual recovery (the hub reads live events it missed from the log).
   */
  private queryThenCommit(text: string, values: unknown[], name: string | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const callback: Callback = (err, result) => {
        if (err) return reject(err);
        // The Sync's ReadyForQuery (pg records its status before calling back) says whether
        // the COMMIT closed the transaction.
        if (this.getTransactionStatus() !== 'I') return reject(new Error('the transaction did not commit'));
        this.committedAhead = true;
        resolve(result);
      };
      (super.query as (q: unknown) => void)(new QueryThenCommit({ name, text, values, callback, queryMode: 'extended' }));
    });
  }

  private async afterCommittedAhead(text: string): Promise<unknown> {
    this.committedAhead = false;
    const command = text.trim().toLowerCase();
    if (command === 'commit') return { command: 'COMMIT', rowCount: null, rows: [], fields: [] };
    // Code threw after the committing statement: Kysely rolls back and rethrows that error,
    // which must be what the caller sees (there is nothing left to roll back).
    if (command === 'rollback') return { command: 'ROLLBACK', rowCount: null, rows: [], fields: [] };
    // Only a bug gets here: a statement meant for the transaction, after its commit. Failing
    // loudly beats running it outside the transaction.
    throw new Error(`statement after the transaction's committing statement: ${text.slice(0, 80)}`);
  }
}
