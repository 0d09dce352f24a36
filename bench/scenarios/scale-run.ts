/**
 * One run at N remote nodes: the cold-start floor, then one daemon through
 * cold start, memory, churn, memory and propagation, then the churn floor
 * for the number of events the daemon actually received, and a bare watch
 * client under the same churn.
 */
import type { BenchContext } from '../context.ts';
import { withBenchHost } from '../context.ts';
import { coldStart, type ColdStart } from './cold-start.ts';
import { measureColdStartFloor, type ColdStartFloor } from './cold-start-floor.ts';
import { measureChurn, type Churn } from './churn.ts';
import { sampleMemory, type MemorySample } from './memory.ts';
import { measureParseFloor, type ParseFloor } from './parse-floor.ts';
import { measurePropagation, type Propagation } from './propagation.ts';
import { measureWatchFloor, type WatchFloor } from './watch-floor.ts';

export interface ScaleRun {
  nodes: number;
  coldStart: ColdStart;
  coldStartFloor: ColdStartFloor;
  memory: { afterColdStart: MemorySample; afterChurn: MemorySample };
  churn: Churn;
  churnFloor: ParseFloor;
  watchFloor: WatchFloor;
  propagation: Propagation;
}

export async function runAtScale(context: BenchContext, nodes: number, run: number): Promise<ScaleRun> {
  const remote = context.clusters.remote(nodes);
  const say = (what: string) => context.progress(`run ${run}, ${nodes} nodes: ${what}`);

  say('cold-start floor (list + parse + wg syncconf)');
  const coldStartFloor = await measureColdStartFloor(context, remote);
  const daemonPart = await withBenchHost(context, async (benchHost) => {
    say('daemon cold start');
    const started = await coldStart(context, benchHost, remote);
    const { daemon } = started;
    try {
      say(`memory after cold start (settling ${context.options.settleSeconds} s)`);
      const afterColdStart = await sampleMemory(daemon, context.options.settleSeconds);
      say(`churn: ${nodes / 10} events/s for ${context.options.churnSeconds} s`);
      const churn = await measureChurn(context, daemon, remote);
      say('memory after churn');
      const afterChurn = await sampleMemory(daemon, context.options.settleSeconds);
      say(`propagation: ${context.options.changes} annotation changes`);
      const propagation = await measurePropagation(context, benchHost, daemon, remote, run);
      return { coldStart: started.coldStart, memory: { afterColdStart, afterChurn }, churn, propagation };
    } finally {
      await daemon.stop();
    }
  });
  say('churn floor (bare JSON.parse of the same events)');
  const churnFloor = await measureParseFloor(context, remote, daemonPart.churn.events);
  say('churn transport floor (bare HTTPS watch client)');
  const watchFloor = await measureWatchFloor(context, remote);
  return { nodes, coldStartFloor, churnFloor, watchFloor, ...daemonPart };
}
