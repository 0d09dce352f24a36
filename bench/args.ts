/** `npm run bench -- [options]`: what to measure and how long. */
export interface BenchOptions {
  /** Remote node counts, each a full set of scenarios. */
  nodes: number[];
  /** Runs per figure: each figure is their median with min and max. */
  runs: number;
  /** Length of the churn phase. */
  churnSeconds: number;
  /** Annotation changes in the propagation scenario. */
  changes: number;
  /** Wait before each memory reading, so it is not a peak caught mid-work. */
  settleSeconds: number;
  /** Where the <date>.json and <date>.md results go. */
  outDir: string;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  nodes: [1000, 5000, 10000],
  runs: 5,
  churnSeconds: 60,
  changes: 200,
  settleSeconds: 5,
  outDir: 'bench/results',
};

export const USAGE = `usage: npm run bench -- [--nodes 1000,5000,10000] [--runs 5] [--churn-seconds 60] [--changes 200] [--settle-seconds 5] [--out bench/results]`;

function positiveInteger(flag: string, text: string | undefined): number {
  if (text === undefined || !/^[1-9][0-9]*$/.test(text)) throw new Error(`${flag} needs a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

/**
 * Walks `--flag value` and `--flag=value` pairs: `handle` gets each flag and
 * reads its value (the next argument, or what follows `=`) when it takes one.
 */
export function forEachFlag(argv: readonly string[], handle: (flag: string, value: () => string | undefined, arg: string) => void): void {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const equals = arg.indexOf('=');
    const flag = equals < 0 ? arg : arg.slice(0, equals);
    handle(flag, () => (equals < 0 ? argv[++i] : arg.slice(equals + 1)), arg);
  }
}

/** Parses `--flag value` and `--flag=value`; throws with the reason on anything else. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = { ...DEFAULT_OPTIONS, nodes: [...DEFAULT_OPTIONS.nodes] };
  forEachFlag(argv, (flag, value, arg) => {
    switch (flag) {
      case '--nodes': {
        const text = value();
        options.nodes = (text ?? '').split(',').map((n) => positiveInteger(flag, n.trim().replace(/_/g, '')));
        if (new Set(options.nodes).size !== options.nodes.length) throw new Error(`--nodes has a count twice: ${text}`);
        break;
      }
      case '--runs':
        options.runs = positiveInteger(flag, value());
        break;
      case '--churn-seconds':
        options.churnSeconds = positiveInteger(flag, value());
        break;
      case '--changes':
        options.changes = positiveInteger(flag, value());
        break;
      case '--settle-seconds':
        options.settleSeconds = positiveInteger(flag, value());
        break;
      case '--out': {
        const text = value();
        if (!text) throw new Error('--out needs a directory');
        options.outDir = text;
        break;
      }
      default:
        throw new Error(`unknown option ${JSON.stringify(arg)}`);
    }
  });
  return options;
}
