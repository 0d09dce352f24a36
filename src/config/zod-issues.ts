import type { z } from 'zod';
import { issueAt, showValue, type ConfigIssue, type JsonPath } from './issue.ts';
import { unknownKeyMessage } from './unknown-key.ts';

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  object: 'an object',
  array: 'a list',
};

/**
 * zod's issues as operator-facing messages. Field schemas already write
 * their own messages; what is left is JSON types and unknown keys, whose
 * suggestions need the keys allowed at that path.
 */
export function configIssuesFromZod(issues: readonly z.core.$ZodIssue[], knownKeysAt: (path: JsonPath) => readonly string[]): ConfigIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => issueAt([...issue.path, key], unknownKeyMessage(key, knownKeysAt(issue.path))));
    }
    if (issue.code === 'invalid_type') {
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      const message = issue.input === undefined ? `required (${expected})` : `expected ${expected}, got ${describe(issue.input)}`;
      return [issueAt(issue.path, message)];
    }
    return [issueAt(issue.path, issue.message)];
  });
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${showValue(value)}`;
}
