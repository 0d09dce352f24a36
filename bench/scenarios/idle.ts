/**
 * Memory at rest: the daemon peering with a remote that has no nodes, once
 * ready and settled; and the floor, a bare `node` process doing nothing.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { withBenchHost, type BenchContext } from '../context.ts';
import { rssBytes } from '../proc.ts';
import { coldStart } from './cold-start.ts';
import { sampleMemory, type MemorySample } from './memory.ts';

export interface Idle {
  daemon: MemorySample;
  bareNodeRssBytes: number;
}

async function bareNodeRss(settleSeconds: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  try {
    await delay(settleSeconds * 1000);
    if (child.pid === undefined) throw new Error('starting a bare node process failed');
    return await rssBytes(child.pid);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function measureIdle(context: BenchContext): Promise<Idle> {
  const daemon = await withBenchHost(context, async (benchHost) => {
    const started = await coldStart(context, benchHost, context.clusters.empty);
    try {
      return await sampleMemory(started.daemon, context.options.settleSeconds);
    } finally {
      await started.daemon.stop();
    }
  });
  return { daemon, bareNodeRssBytes: await bareNodeRss(context.options.settleSeconds) };
}
