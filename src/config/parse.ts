import { issueAt, type ConfigIssue } from './issue.ts';
import { resolveRelations } from './relations.ts';
import { clustersConfigSchema, knownKeysAt, readLeniently } from './schema.ts';
import type { ClustersConfig } from './types.ts';
import { configIssuesFromZod } from './zod-issues.ts';

export type ClustersConfigResult = { ok: true; config: ClustersConfig } | { ok: false; issues: ConfigIssue[] };

/**
 * Validates a parsed JSON document against the clusters config format (docs/configuration.md) and normalises it.
 * Every problem is reported at once: field problems from the schema, then
 * the rules between fields and remotes, checked on the fields that are valid.
 */
export function parseClustersConfig(json: unknown): ClustersConfigResult {
  const parsed = clustersConfigSchema.safeParse(json, { reportInput: true });
  const relations = resolveRelations(readLeniently(json));
  const issues = [...(parsed.success ? [] : configIssuesFromZod(parsed.error.issues, knownKeysAt)), ...relations.issues];
  if (issues.length > 0) return { ok: false, issues: inDocumentOrder(issues) };
  if (relations.config === null) throw new Error('clusters config passed validation but could not be built (a bug in relations.ts)');
  return { ok: true, config: relations.config };
}

/** As `parseClustersConfig`, from the file's text; bad JSON syntax is one issue. */
export function parseClustersConfigText(text: string): ClustersConfigResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, issues: [issueAt([], `not valid JSON: ${(error as Error).message}`)] };
  }
  return parseClustersConfig(json);
}

/** Top-level and local problems first, then remote by remote; stable within each. */
function inDocumentOrder(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const remoteIndex = (issue: ConfigIssue) => Number(/^remotes\[(\d+)\]/.exec(issue.path)?.[1] ?? -1);
  return issues.toSorted((a, b) => remoteIndex(a) - remoteIndex(b));
}
