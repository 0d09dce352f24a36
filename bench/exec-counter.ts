/**
 * Counts how often the daemon runs `wg` and `ip`: a directory of wrapper
 * scripts put first on the daemon's PATH, each appending one byte to its
 * program's count file before exec'ing the real program. Objective (it does
 * not trust the daemon's own accounting) and cheap (~1 ms per call).
 */
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execCommand } from '../src/process/exec.ts';

export const COUNTED_PROGRAMS = ['wg', 'ip'] as const;
export type CountedProgram = (typeof COUNTED_PROGRAMS)[number];
export type ExecCounts = Record<CountedProgram, number>;

export interface ExecCounter {
  /** Put this first on the daemon's PATH. */
  readonly binDirectory: string;
  counts(): Promise<ExecCounts>;
}

/** The wrapper's text. Paths are the bench's own, single-quoted for sh. */
export function counterScript(realProgram: string, countFile: string): string {
  for (const p of [realProgram, countFile]) {
    if (p.includes("'")) throw new Error(`path ${p} cannot be single-quoted for sh`);
  }
  return `#!/bin/sh\nprintf x >> '${countFile}'\nexec '${realProgram}' "$@"\n`;
}

export async function createExecCounter(directory: string): Promise<ExecCounter> {
  const binDirectory = path.join(directory, 'bin');
  const countDirectory = path.join(directory, 'counts');
  await mkdir(binDirectory, { recursive: true });
  await mkdir(countDirectory, { recursive: true });
  for (const program of COUNTED_PROGRAMS) {
    const realProgram = (await execCommand('which', [program])).stdout.trim();
    if (realProgram === '') throw new Error(`${program} is not on PATH`);
    const wrapper = path.join(binDirectory, program);
    await writeFile(wrapper, counterScript(realProgram, path.join(countDirectory, program)));
    await chmod(wrapper, 0o755);
  }
  return {
    binDirectory,
    async counts() {
      const counts = {} as ExecCounts;
      for (const program of COUNTED_PROGRAMS) {
        counts[program] = await stat(path.join(countDirectory, program)).then(
          (s) => s.size,
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'ENOENT') return 0;
            throw new Error(`reading the ${program} call count failed`, { cause: error });
          },
        );
      }
      return counts;
    },
  };
}
