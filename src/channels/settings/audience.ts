/**
 * After a channel's audience changed (a new channel, Settings › Chats access): live streams
 * reload their access, and the red dots follow through the hook the root passes in (they are
 * chats' rules: channels sits below chats and never imports it).
 */
import { ACCESS_CHANGED } from '../../platform/live/hub.ts';
import type { Tx } from '../../platform/tx.ts';
import type { ChannelsPorts } from '../ports.ts';

/** What recording an access change needs: the live hub and chats' hooks. */
export type AudiencePorts = Pick<ChannelsPorts, 'live' | 'channelHooks'>;

/** After the channel's audience changed: live streams reload their access, red dots follow. */
export async function accessChanged(deps: AudiencePorts, tx: Tx, channelId: number, seeingBefore: number[]) {
  await deps.live.record(tx, { audience: 'all', name: ACCESS_CHANGED, data: {} });
  await deps.channelHooks.audienceChanged(tx, channelId, seeingBefore);
}
