import { readlink, realpath } from 'node:fs/promises';
import path from 'node:path';

const MAX_LINKS = 40; // Linux's MAXSYMLINKS

/**
 * The real absolute path of `file`, also when it does not exist yet: the
 * existing part is resolved, a dangling symbolic link is followed to where
 * it points (a key file created later would be read through it).
 */
export async function resolvedPath(file: string, links = 0): Promise<string> {
  const absolute = path.resolve(file);
  try {
    return await realpath(absolute);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  if (links > MAX_LINKS) throw new Error(`too many levels of symbolic links resolving ${file}`);
  const parentPath = path.dirname(absolute);
  const parent = parentPath === absolute ? absolute : await resolvedPath(parentPath, links);
  const joined = path.join(parent, path.basename(absolute));
  let target: string;
  try {
    target = await readlink(joined);
  } catch (error) {
    // Not there, or not a link: the path is as resolved as it gets.
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'EINVAL') return joined;
    throw error;
  }
  return resolvedPath(path.resolve(parent, target), links + 1);
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
