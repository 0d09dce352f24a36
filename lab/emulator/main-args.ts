/** The standalone emulator's command line (see main.ts). */
export interface MainArgs {
  dir: string;
  host: string;
  port: number;
  caPort: number;
  controlSocket: string;
  seed: number;
  clusterName?: string;
  historyLimit?: number;
  bookmarkIntervalMs?: number;
}

export const USAGE =
  'usage: node lab/emulator/main.ts --dir D --host H --port P --ca-port P2 --control-socket PATH [--seed N] [--cluster-name NAME] [--history-limit N] [--bookmark-interval-ms MS]';

const REQUIRED = ['dir', 'host', 'port', 'ca-port', 'control-socket'];
const OPTIONAL = ['seed', 'cluster-name', 'history-limit', 'bookmark-interval-ms'];

function integer(values: Map<string, string>, flag: string, min: number, max: number): number | undefined {
  const text = values.get(flag);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new Error(`--${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

/** Throws an Error naming the problem; the caller prints it with USAGE and exits 2. */
export function parseMainArgs(argv: readonly string[]): MainArgs {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const m = /^--?([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (m === null) throw new Error(`unexpected argument "${arg}"`);
    const flag = m[1] ?? '';
    if (!REQUIRED.includes(flag) && !OPTIONAL.includes(flag)) throw new Error(`unknown flag --${flag}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${flag} needs a value`);
    values.set(flag, value);
  }
  const missing = REQUIRED.filter((flag) => !values.has(flag));
  if (missing.length > 0) throw new Error(`missing ${missing.map((flag) => `--${flag}`).join(', ')}`);
  const historyLimit = integer(values, 'history-limit', 1, 10_000_000);
  const bookmarkIntervalMs = integer(values, 'bookmark-interval-ms', 10, 3_600_000);
  const clusterName = values.get('cluster-name');
  return {
    dir: values.get('dir') ?? '',
    host: values.get('host') ?? '',
    port: integer(values, 'port', 0, 65535) ?? 0,
    caPort: integer(values, 'ca-port', 0, 65535) ?? 0,
    controlSocket: values.get('control-socket') ?? '',
    seed: integer(values, 'seed', 0, 1_000_000) ?? 0,
    ...(clusterName === undefined ? {} : { clusterName }),
    ...(historyLimit === undefined ? {} : { historyLimit }),
    ...(bookmarkIntervalMs === undefined ? {} : { bookmarkIntervalMs }),
  };
}
