/**
 * etcd's revision: one counter for every resource, which every write
 * bumps. Each resource's store reads and advances it, so resourceVersions
 * are comparable across resources as in a real cluster.
 */
export class Revision {
  current = 1;
}
