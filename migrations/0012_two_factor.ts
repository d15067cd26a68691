import { sql, type Kysely } from 'kysely';

/**
 * #21 two-factor sign-in (TOTP, RFC 6238).
 * - `employee_two_factor`: one row per employee who started or finished turning it on. The
 *   secret is encrypted at rest (AES-256-GCM, SECRET_KEY, like channel tokens); `enabled_at`
 *   null means set-up was started but not yet confirmed with a code. `last_used_step` is the
 *   TOTP time step of the last accepted code: a code of that step or an earlier one is refused
 *   (no replay).
 * - `two_factor_recovery_codes`: single-use codes, only their SHA-256 stored.
 * - `login_challenges`: the second step of a login (password right, code still due). Only the
 *   token's SHA-256 is stored; it expires in minutes and dies after a few wrong codes. It grants
 *   nothing but the right to send a code.
 */
const statements = [
  `CREATE TABLE employee_two_factor (
     employee_id integer PRIMARY KEY REFERENCES employees(id) ON DELETE CASCADE,
     secret_encrypted text NOT NULL,
     enabled_at timestamptz,
     last_used_step integer,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE two_factor_recovery_codes (
     employee_id integer NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
     code_hash text NOT NULL,
     used_at timestamptz,
     PRIMARY KEY (employee_id, code_hash)
   )`,
  `CREATE TABLE login_challenges (
     token_hash text PRIMARY KEY,
     employee_id integer NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
     next text NOT NULL DEFAULT '/',
     attempts integer NOT NULL DEFAULT 0,
     expires_at timestamptz NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX login_challenges_expires_idx ON login_challenges (expires_at)`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const s of statements) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['login_challenges', 'two_factor_recovery_codes', 'employee_two_factor']) await sql.raw(`DROP TABLE IF EXISTS ${t}`).execute(db);
}
