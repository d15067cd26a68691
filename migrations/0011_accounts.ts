import { sql, type Kysely } from 'kysely';

/**
 * #21 accounts: an administrator (Settings › Employees) or the CLI (`employee:password
 * --temporary`) can set a temporary password; the employee must choose their own at their next
 * login before anything else (`employees.must_change_password`).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql.raw('ALTER TABLE employees ADD COLUMN must_change_password boolean NOT NULL DEFAULT false').execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql.raw('ALTER TABLE employees DROP COLUMN must_change_password').execute(db);
}
