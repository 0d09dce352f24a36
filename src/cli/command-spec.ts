import type { FlagReader, FlagSpec } from './flags.ts';
import type { CliIO } from './io.ts';

/** One subcommand: its flags, how they become typed options, and what it does with them. */
export interface CommandSpec<Options> {
  /** One line, for the command list in help. */
  summary: string;
  /** Shown under the usage line of the command's help. */
  description: string;
  flags: readonly FlagSpec<unknown>[];
  /** Pure: reads every flag through `read`, which throws UsageError. */
  options(read: FlagReader): Options;
  /** Resolves to the exit code. */
  execute(options: Options, io: CliIO): Promise<number>;
}
