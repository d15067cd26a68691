/**
 * What the auth feature needs from the outside, as narrow types: each function takes
 * `Pick<AuthPorts, 'db' | 'logger'>`-style arguments, and the composition root (`deps.ts`)
 * satisfies them structurally. This file imports only `platform/`, `db/`, the configuration
 * type and auth's own types, so nothing under `src/auth` needs `deps.ts`, `app.ts` or `jobs.ts`.
 */
import type { Expression, RawBuilder } from 'kysely';
import type { Config } from '../config.ts';
import type { Conn, Db } from '../db/database.ts';
import type { LiveHub } from '../platform/live/hub.ts';
import type { Logger } from '../platform/logger.ts';

export interface SessionPolicy {
  /** A session unused this long ends. */
  idleMs: number;
  /** A session ends this long after login, used or not. */
  absoluteMs: number;
}

/**
 * Who may use which channel and the red dot, as SQL the session statement selects (A1, #16).
 * They are chats' access rules (chats/access.repository.ts), above auth: the root passes them in,
 * so one round trip still brings the employee, their channels and the dot.
 */
export interface ChannelAccessColumns {
  /** The channels an employee may use, as a column of another query. */
  visibleChannelIdsColumn(employee: Expression<number>): RawBuilder<number[]>;
  /** The red dot, where the employee's visible channels are already at hand. */
  redDotInChannelsColumn(channels: Expression<number[]>, employee: Expression<number>): RawBuilder<boolean>;
  /** The channels an employee may use, read on their own (a live stream's viewer). */
  visibleChannelIds(db: Conn, employeeId: number): Promise<number[]>;
}

export interface AuthPorts {
  readonly config: Config;
  readonly db: Db;
  readonly logger: Logger;
  /** Session ends and access changes reach open live streams (recorded in the transaction). */
  readonly live: Pick<LiveHub, 'record' | 'sessionsEnded'>;
  readonly sessionPolicy: SessionPolicy;
  readonly channelAccess: ChannelAccessColumns;
}
