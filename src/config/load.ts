import { readFile } from 'node:fs/promises';
import { ClustersConfigError, issueAt } from './issue.ts';
import { parseClustersConfigText } from './parse.ts';
import type { ClustersConfig } from './types.ts';

export type ReadTextFile = (path: string) => Promise<string>;

const readUtf8: ReadTextFile = (path) => readFile(path, 'utf8');

/** Reads and validates the clusters config; throws ClustersConfigError listing every problem. */
export async function loadClustersConfig(path: string, read: ReadTextFile = readUtf8): Promise<ClustersConfig> {
  let text: string;
  try {
    text = await read(path);
  } catch (error) {
    throw new ClustersConfigError(path, [issueAt([], `cannot read the file: ${(error as Error).message}`)], error);
  }
  const result = parseClustersConfigText(text);
  if (!result.ok) throw new ClustersConfigError(path, result.issues);
  return result.config;
}
