import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');
export const EXAMPLES_DIR = join(DEPLOY_DIR, 'examples');
/** The clusters of the example pair under deploy/examples. */
export const EXAMPLE_CLUSTERS = ['c1', 'c2'] as const;
