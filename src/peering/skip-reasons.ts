/**
 * Why a remote node is not (fully) peered: the closed list, in one place.
 * Every reason is a label value of `clusterwire_remote_nodes_skipped`
 * (pre-created at 0) and is documented in docs/http-and-metrics.md and
 * docs/troubleshooting.md.
 */
export const SKIP_REASONS = [
  'missing-annotation',
  'bad-public-key',
  'bad-endpoint',
  'bad-pod-cidr',
  'no-pod-cidr',
  'pod-cidr-outside-subnets',
  'pod-cidr-conflict',
  'duplicate-public-key',
  'value-too-long',
  'too-many-pod-cidrs',
  'too-many-nodes',
  'resolving-endpoint',
  'unresolvable-endpoint',
  'device-rejected',
] as const;

export type SkipReason = (typeof SKIP_REASONS)[number];
