import type { Clock } from '../clock/clock.ts';
import type { Logger } from '../log.ts';
import { SyncRunner } from '../peering/sync-runner.ts';
import { PEER_CLUSTER_LABEL, SOURCE_CLUSTER_LABEL } from './peer-slice.ts';
import { writeFailure, type SliceApi } from './slice-api.ts';

export interface SlicePrunerOptions {
  api: SliceApi;
  /** The local cluster. */
  source: string;
  /** The peer clusters of the config. */
  peers: readonly string[];
  clock: Clock;
  logger: Logger;
}

/** The slices this cluster published for peers no longer configured: every slice of ours whose peer is not in `peers`. */
export function orphanSelector(source: string, peers: readonly string[]): string {
  return `${SOURCE_CLUSTER_LABEL}=${source},${PEER_CLUSTER_LABEL} notin (${peers.join(',')})`;
}

/**
 * When this replica starts leading, deletes the slices published for peer
 * clusters that were removed from the config, as the daemon removes the
 * links of remotes no longer configured: their daemons would otherwise
 * keep peering with this cluster from slices nobody updates.
 */
export class SlicePruner {
  readonly #o: SlicePrunerOptions;
  readonly #runner: SyncRunner;
  #leading = false;

  constructor(options: SlicePrunerOptions) {
    this.#o = options;
    this.#runner = new SyncRunner({
      clock: options.clock,
      run: () => this.#prune(),
      onError: (error, retryInMs) => options.logger.warn({ err: error, retryInMs }, 'removing slices of peers no longer configured failed; retrying'),
    });
  }

  lead(): void {
    this.#leading = true;
    this.#runner.request();
  }

  standBy(): void {
    this.#leading = false;
  }

  async stop(): Promise<void> {
    this.#leading = false;
    await this.#runner.stop();
  }

  async #prune(): Promise<void> {
    const { api, source, peers, logger } = this.#o;
    if (!this.#leading) return;
    for (const slice of await api.list(orphanSelector(source, peers))) {
      if (!this.#leading) return;
      try {
        await api.delete(slice.name, slice.resourceVersion);
        logger.info({ slice: slice.name }, 'removed a slice of a peer cluster no longer configured');
      } catch (err) {
        // Gone already is done; changed meanwhile is read again on the retry.
        if (writeFailure('delete', err) !== 'done') throw err;
      }
    }
  }
}
