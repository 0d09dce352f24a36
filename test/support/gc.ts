import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A full garbage collection, for tests that check what stays reachable
 * (without starting node with --expose-gc). A WeakRef keeps its target
 * until the current turn of the event loop ends: check on a later turn.
 */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
