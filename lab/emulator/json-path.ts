import { isJsonObject, type JsonValue } from './json.ts';

/**
 * The simple JSONPaths CRD printer columns use (`.spec.holder`,
 * `.status.conditions[0].type`, `.metadata.labels.cluster`, with
 * `['key.with.dots']` for awkward keys): the first value found, or
 * undefined. Wildcards and filters are not part of kube's column paths
 * either (validation refuses them).
 */
export function parseSimpleJsonPath(path: string): (string | number)[] | null {
  const steps: (string | number)[] = [];
  let rest = path.trim();
  if (!rest.startsWith('.')) return null;
  while (rest !== '') {
    let m = /^\.([A-Za-z0-9_-]+)/.exec(rest);
    if (m) {
      steps.push(m[1] ?? '');
      rest = rest.slice(m[0].length);
      continue;
    }
    m = /^\[(\d+)\]/.exec(rest);
    if (m) {
      steps.push(Number(m[1]));
      rest = rest.slice(m[0].length);
      continue;
    }
    m = /^\[['"]([^'"]+)['"]\]/.exec(rest);
    if (m) {
      steps.push(m[1] ?? '');
      rest = rest.slice(m[0].length);
      continue;
    }
    return null;
  }
  return steps;
}

export function valueAt(value: JsonValue, steps: readonly (string | number)[]): JsonValue | undefined {
  let current: JsonValue | undefined = value;
  for (const step of steps) {
    if (typeof step === 'number') current = Array.isArray(current) ? current[step] : undefined;
    else current = isJsonObject(current) ? current[step] : undefined;
    if (current === undefined) return undefined;
  }
  return current;
}
