/**
 * Just enough of the Dockerfile syntax to read our own Dockerfile in tests:
 * comments, line continuations, global ARG defaults in FROM, stages.
 */

export interface Instruction {
  keyword: string;
  /** The rest of the line, continuations joined with a space. */
  args: string;
}

export interface Stage {
  /** The base image, with global ARG defaults substituted. */
  base: string;
  name: string | null;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const { keyword, args } of instructions(text)) {
    const current = stages.at(-1);
    if (keyword === 'FROM') {
      const [image = '', as, name] = args.split(/\s+/);
      const base = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string | undefined, bare: string | undefined) => globalArgs.get(braced ?? bare ?? '') ?? '');
      stages.push({ base, name: as?.toUpperCase() === 'AS' ? (name ?? null) : null, instructions: [] });
    } else if (current === undefined) {
      if (keyword !== 'ARG') throw new Error(`${keyword} before the first FROM`);
      const [name = '', value = ''] = args.split('=', 2);
      globalArgs.set(name, value);
    } else current.instructions.push({ keyword, args });
  }
  return stages;
}

function instructions(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue; // comments, parser directives, comments inside continued lines
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole !== '') logical.push(whole);
  }
  return logical.map((line) => {
    const space = line.search(/\s/);
    return space < 0 ? { keyword: line.toUpperCase(), args: '' } : { keyword: line.slice(0, space).toUpperCase(), args: line.slice(space).trim() };
  });
}

/** The arguments of an exec-form (JSON array) instruction such as ENTRYPOINT or CMD. */
export function execForm(instruction: Instruction): string[] {
  const parsed: unknown = JSON.parse(instruction.args);
  if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string')) {
    throw new Error(`${instruction.keyword} ${instruction.args} is not in exec form (a JSON array of strings)`);
  }
  return parsed;
}

/** The simple commands of a shell-form RUN, split on `&&` and then on blanks (enough for commands without quoting). */
export function runCommands(instruction: Instruction): string[][] {
  return instruction.args.split('&&').map((command) => command.trim().split(/\s+/));
}
