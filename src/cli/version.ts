import packageJson from '../../package.json' with { type: 'json' };
import type { CommandSpec } from './command-spec.ts';
import { ExitCode } from './io.ts';

export const versionCommand: CommandSpec<Record<string, never>> = {
  summary: 'print the version',
  description: 'Prints the version of clusterwire.',
  flags: [],
  options: () => ({}),
  execute(_options, io) {
    io.stdout.write(`clusterwire ${packageJson.version}\n`);
    return Promise.resolve(ExitCode.ok);
  },
};
