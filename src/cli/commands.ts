import { calicoIPPoolsCommand } from './calico-ippools.ts';
import { cleanupCommand } from './cleanup.ts';
import type { CommandSpec } from './command-spec.ts';
import { connectCommand, disconnectCommand } from './connect.ts';
import { migrateCheckCommand } from './migrate-check.ts';
import { mirrorCommand } from './mirror.ts';
import type { CliIO } from './io.ts';
import { runCommand } from './run.ts';
import { statusCommand } from './status.ts';
import { validateCommand } from './validate.ts';
import { versionCommand } from './version.ts';

/** Every subcommand; adding one is one entry here (help and parsing follow). */
export const COMMANDS = {
  run: runCommand,
  validate: validateCommand,
  'calico-ippools': calicoIPPoolsCommand,
  cleanup: cleanupCommand,
  status: statusCommand,
  connect: connectCommand,
  disconnect: disconnectCommand,
  'migrate-check': migrateCheckCommand,
  mirror: mirrorCommand,
  version: versionCommand,
};

export type CommandName = keyof typeof COMMANDS;

type OptionsOf<C> = C extends CommandSpec<infer Options> ? Options : never;

export type CommandOptions = { [K in CommandName]: OptionsOf<(typeof COMMANDS)[K]> };

/** A parsed command line: which command, with its typed options. */
export type Command<K extends CommandName = CommandName> = { [P in K]: { name: P; options: CommandOptions[P] } }[K];

// The table seen as a mapped type lets TypeScript match each command with its own options.
const SPECS: { [K in CommandName]: CommandSpec<CommandOptions[K]> } = COMMANDS;

export function commandSpec<K extends CommandName>(name: K): CommandSpec<CommandOptions[K]> {
  return SPECS[name];
}

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

export function executeCommand<K extends CommandName>(command: Command<K>, io: CliIO): Promise<number> {
  return commandSpec<K>(command.name).execute(command.options, io);
}
