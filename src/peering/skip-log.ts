import type { SkippedNode } from './remote-status.ts';

export interface SkipChanges {
  appeared: SkippedNode[];
  cleared: SkippedNode[];
}

const keyOf = (s: SkippedNode) => `${s.node}\u0000${s.reason}\u0000${s.detail}`;

/**
 * Which skips are new and which went away since the last pass, so each is
 * logged once when it starts and once when it ends, not on every pass.
 */
export function skipChanges(previous: readonly SkippedNode[], current: readonly SkippedNode[]): SkipChanges {
  const before = new Set(previous.map(keyOf));
  const now = new Set(current.map(keyOf));
  return {
    appeared: current.filter((s) => !before.has(keyOf(s))),
    cleared: previous.filter((s) => !now.has(keyOf(s))),
  };
}
