import type { Clock } from '../clock/clock.ts';
import type { Logger } from '../log.ts';
import { SyncRunner } from '../peering/sync-runner.ts';
import { MIRRORED_LABEL, PEER_CLUSTER_LABEL, SOURCE_CLUSTER_LABEL } from './peer-slice.ts';
import { writeFailure, type SliceApi } from './slice-api.ts';

export interface SlicePrunerOptions {
  api: SliceApi;
  /** The local cluster. */
  local: string;
  /** The remote clusters of the config. */
  remotes: readonly string[];
  clock: Clock;
  logger: Logger;
}

/**
 * The slices of this cluster's mirror for clusters no longer configured:
 * those it published for a peer that is not in `remotes`, and those it
 * mirrored from a remote that is not.
 */
export function orphanSelectors(local: string, remotes: readonly string[]): string[] {
  const names = remotes.join(',');
  return [
    `${SOURCE_CLUSTER_LABEL}=${local},${PEER_CLUSTER_LABEL} notin (${names}),!${MIRRORED_LABEL}`,
    `${MIRRORED_LABEL}=true,${PEER_CLUSTER_LABEL}=${local},${SOURCE_CLUSTER_LABEL} notin (${names})`,
  ];
}

/**
 * When this replica starts leading, deletes the slices published for peer
 * clusters, and mirrored from remote clusters, that were removed from the
 * config, as the daemon removes the links of remotes no longer
 * configured: daemons would otherwise keep peering from slices nobody
 * updates.
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
    const { api, local, remotes, logger } = this.#o;
    if (!this.#leading) return;
    const orphans = (await Promise.all(orphanSelectors(local, remotes).map((selector) => api.list(selector)))).flat();
    for (const slice of orphans) {
      if (!this.#leading) return;
      try {
        await api.delete(slice.name, slice.resourceVersion);
        logger.info({ slice: slice.name }, 'removed a slice of a cluster no longer configured');
      } catch (err) {
        // Gone already is done; changed meanwhile is read again on the retry.
        if (writeFailure('delete', err) !== 'done') throw err;
      }
    }
  }
}
