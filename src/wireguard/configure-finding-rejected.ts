import { ChangeRejectedError, type PeerChange, type WireGuardClient } from './types.ts';

export interface RejectedChange {
  change: PeerChange;
  error: ChangeRejectedError;
}

/**
 * Applies peer changes to a device that refused them as one batch: the
 * batch, and when the device refuses it, each half in turn, down to single
 * changes. Every change the device accepts is applied, in the original
 * order, and each one it refuses is found alone: k bad peers among n cost
 * about 2·k·log2(n) calls rather than n. Changes are idempotent (set this
 * endpoint, these allowed IPs), so applying again what a refused batch
 * applied in part is harmless. An error other than a refusal (the device
 * does not answer) ends it: what was applied is then unknown.
 */
export async function configureFindingRejected(client: WireGuardClient, device: string, changes: readonly PeerChange[]): Promise<RejectedChange[]> {
  if (changes.length === 0) return [];
  try {
    await client.configure(device, { peers: [...changes] });
    return [];
  } catch (error) {
    if (!(error instanceof ChangeRejectedError)) throw error;
    if (changes.length === 1) return [{ change: changes[0] as PeerChange, error }];
  }
  const half = Math.ceil(changes.length / 2);
  const first = await configureFindingRejected(client, device, changes.slice(0, half));
  const second = await configureFindingRejected(client, device, changes.slice(half));
  return [...first, ...second];
}
