/**
 * `npm run bench:fleet-scale -- [options]`: the bench's options
 * (args.ts), with other defaults (1,000 and 5,000 nodes, one run), plus
 * how many local daemons and which sources.
 */
import { forEachFlag, parseBenchArgs, type BenchOptions } from './args.ts';

export const FLEET_SOURCES = ['nodes', 'slices', 'mirror'] as const;
export type FleetSource = (typeof FLEET_SOURCES)[number];

/** A number of local daemons, or as many as the machine holds (capacity.ts). */
export type LocalsStep = number | 'max';

export interface FleetScaleOptions extends BenchOptions {
  /** The numbers of local daemons measured, in increasing order. */
  locals: LocalsStep[];
  /** The most daemons `max` may mean, whatever the memory allows. */
  maxLocals: number;
  sources: FleetSource[];
}

/**
 * The window and the settle before it, unless given: five reconcile ticks,
 * after the first two of the youngest daemon. An idle daemon costs a few
 * milliseconds per 30 s tick, and its first ticks several times that while
 * V8 warms them up: a window must hold several settled ticks
 * (bench/README.md, "Fleet mode at scale").
 */
export const FLEET_CHURN_SECONDS = 150;
export const FLEET_SETTLE_SECONDS = 60;

/** Each local daemon needs a local Node with an address of its own (198.19.255.<k>). */
export const LOCALS_LIMIT = 200;

export const FLEET_SCALE_USAGE = `usage: npm run bench:fleet-scale -- [--nodes 1000,5000] [--runs 1] [--locals 1,10,max] [--max-locals 32] [--sources ${FLEET_SOURCES.join(',')}] [--churn-seconds ${FLEET_CHURN_SECONDS}] [--changes 200] [--settle-seconds ${FLEET_SETTLE_SECONDS}] [--out bench/results]`;

function list(flag: string, text: string | undefined): string[] {
  const items = (text ?? '').split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new Error(`${flag} needs a comma-separated list, got ${JSON.stringify(text)}`);
  if (new Set(items).size !== items.length) throw new Error(`${flag} has an item twice: ${text}`);
  return items;
}

function localsStep(text: string): LocalsStep {
  if (text === 'max') return 'max';
  if (!/^[1-9][0-9]*$/.test(text) || Number(text) > LOCALS_LIMIT) throw new Error(`--locals takes counts of 1-${LOCALS_LIMIT} and max, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Parses this bench's own flags and hands the rest to parseBenchArgs; throws with the reason. */
export function parseFleetScaleArgs(argv: readonly string[]): FleetScaleOptions {
  const rest: string[] = [];
  let locals: LocalsStep[] = [1, 10, 'max'];
  let maxLocals = 32;
  let sources: FleetSource[] = [...FLEET_SOURCES];
  forEachFlag(argv, (flag, value, arg) => {
    switch (flag) {
      case '--locals': {
        locals = list(flag, value()).map(localsStep);
        const counts = locals.filter((step) => step !== 'max');
        if (counts.some((count, k) => k > 0 && count <= (counts[k - 1] as number))) throw new Error('--locals must increase');
        if (locals.includes('max') && locals.at(-1) !== 'max') throw new Error('--locals: max comes last');
        break;
      }
      case '--max-locals': {
        const text = value() ?? '';
        if (text === 'max') throw new Error('--max-locals needs a count');
        maxLocals = localsStep(text) as number;
        break;
      }
      case '--sources':
        sources = list(flag, value()).map((text) => {
          const source = FLEET_SOURCES.find((s) => s === text);
          if (!source) throw new Error(`--sources takes ${FLEET_SOURCES.join(', ')}, got ${JSON.stringify(text)}`);
          return source;
        });
        break;
      default: {
        // Every bench option takes a value: parseBenchArgs judges both.
        const text = arg.includes('=') ? undefined : value();
        rest.push(arg, ...(text === undefined ? [] : [text]));
      }
    }
  });
  const given = (flag: string) => rest.some((a) => a === flag || a.startsWith(`${flag}=`));
  const defaults = [
    ...(given('--nodes') ? [] : ['--nodes', '1000,5000']),
    ...(given('--runs') ? [] : ['--runs', '1']),
    ...(given('--churn-seconds') ? [] : ['--churn-seconds', String(FLEET_CHURN_SECONDS)]),
    ...(given('--settle-seconds') ? [] : ['--settle-seconds', String(FLEET_SETTLE_SECONDS)]),
  ];
  return { ...parseBenchArgs([...defaults, ...rest]), locals, maxLocals, sources };
}
