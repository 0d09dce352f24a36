/**
 * The message for a key the config format does not have. It always names
 * the nearest known key, since most unknown keys are typos or wrong case;
 * when even the nearest is far off, it lists all of them.
 */
export function unknownKeyMessage(key: string, knownKeys: readonly string[]): string {
  const ranked = knownKeys
    .map((known) => ({ known, distance: editDistance(key.toLowerCase(), known.toLowerCase()) }))
    .sort((a, b) => a.distance - b.distance);
  const nearest = ranked[0];
  if (nearest === undefined) return 'unknown key; no keys are allowed here';
  const close = nearest.distance <= Math.max(2, Math.floor(nearest.known.length / 3));
  const suggestion = `unknown key; did you mean ${nearest.known}?`;
  return close ? suggestion : `${suggestion} (known keys: ${knownKeys.join(', ')})`;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
