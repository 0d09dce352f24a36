/** One problem in a clusters config: where (a JSON path) and what is wrong. */
export interface ConfigIssue {
  /** `remotes[0].podSubnets[1]`; empty for the file as a whole. */
  path: string;
  message: string;
}

export type JsonPath = readonly PropertyKey[];

/** `['remotes', 0, 'name']` → `remotes[0].name`. */
export function formatJsonPath(path: JsonPath): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    const name = String(key);
    return text === '' ? name : `${text}.${name}`;
  }, '');
}

export function issueAt(path: JsonPath, message: string): ConfigIssue {
  return { path: formatJsonPath(path), message };
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

/** A value as an operator typed it: strings in single quotes, the rest as JSON. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? typeof value;
}

/** A clusters config that cannot be used, with every problem found in it. */
export class ClustersConfigError extends Error {
  readonly source: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[], cause?: unknown) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`clusters config ${source} has ${count}:\n${issues.map((issue) => `  ${formatIssue(issue)}`).join('\n')}`, { cause });
    this.name = 'ClustersConfigError';
    this.source = source;
    this.issues = issues;
  }
}
