import type { Compilable, CompiledQuery, RawBuilder } from 'kysely';
import type { Conn } from './database.ts';

/** Stands for a named value while a template is built; never reaches the database. */
class Slot {
  constructor(readonly name: string) {}
}

/**
 * A query built and compiled by Kysely once, then run with new values. Building a query (its
 * operation tree, frozen node by node) and compiling it cost more Node CPU than PostgreSQL
 * spends running the hot ones: the session look-up runs on every request, the chat list on
 * every Chats page.
 *
 * `build` receives `p`, whose every property is a slot standing for the value of that name:
 * use them where the values go (`where('id', '=', p.id)`, `sql\`… ${p.at}\``). A list of values
 * is one array value: `sql\`x = any(${p.ids}::int[])\``, not `in`. A query whose shape
 * depends on the values needs one template per shape. Every value of the built query must be a
 * slot: a value captured from elsewhere would be frozen into every later run, so it is refused
 * when the template is first used.
 */
export function queryTemplate<P extends object, Row>(build: (db: Conn, p: P) => Compilable<Row> | RawBuilder<Row>) {
  let compiled: { query: CompiledQuery<Row>; names: (keyof P)[] } | undefined;
  const slots = new Proxy({} as P, { get: (_t, name) => new Slot(String(name)) });
  return {
    async execute(db: Conn, values: P): Promise<Row[]> {
      if (!compiled) {
        const built = build(db, slots);
        const query = 'isRawBuilder' in built ? built.compile(db) : built.compile();
        const names = query.parameters.map((v, i) => {
          if (!(v instanceof Slot)) throw new Error(`queryTemplate: value $${i + 1} is not a slot (${String(v)}): ${query.sql}`);
          return v.name as keyof P;
        });
        compiled = { query, names };
      }
      const { query, names } = compiled;
      const parameters = names.map((n) => values[n]);
      return (await db.executeQuery<Row>({ ...query, parameters })).rows;
    },
    async executeTakeFirst(db: Conn, values: P): Promise<Row | undefined> {
      return (await this.execute(db, values))[0];
    },
  };
}
