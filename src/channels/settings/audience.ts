/**
 * After a channel's audience changed (a new channel, Settings › Chats access): live streams
 * reload their access and red dots follow. The red dots are chats' (chats.live.ts): this is the
 * one place channels calls up into chats, to become a callback the root passes in (#22 item 3).
 */
import { employeesSeeingChannel } from '../../chats/access.repository.ts';
import { publishRedDots, publishRedDotsOf } from '../../chats/live/chats.live.ts';
import { ACCESS_CHANGED } from '../../platform/live/hub.ts';
import type { Tx } from '../../platform/tx.ts';
import type { ChannelsPorts } from '../ports.ts';

/** Who sees a channel now (chats' access rules), for the audience before and after a change. */
export { employeesSeeingChannel };

/** What recording an access change needs: the live hub, and what chats' red-dot publishers take. */
export type AudiencePorts = Pick<ChannelsPorts, 'live'> & Parameters<typeof publishRedDots>[0] & Parameters<typeof publishRedDotsOf>[0];

/** After the channel's audience changed: live streams reload their access, red dots follow. */
export async function accessChanged(deps: AudiencePorts, tx: Tx, channelId: number, seeingBefore: number[]) {
  await deps.live.record(tx, { audience: 'all', name: ACCESS_CHANGED, data: {} });
  await publishRedDots(deps, tx, channelId);
  const now = new Set(await employeesSeeingChannel(tx.db, channelId));
  const removed = seeingBefore.filter((id) => !now.has(id));
  await publishRedDotsOf(deps, tx, removed);
}
