/**
 * The churn transport floor: a bare watch client (bench/floors/watch-events.ts)
 * in a host like the daemon's, under the same heartbeat rate, for
 * min(churn, 20 s). It tells how much of the daemon's cost per event any
 * watcher of full Node objects over TLS pays (TLS, HTTP, UTF-8, JSON.parse)
 * and how much is the daemon's own.
 */
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import type { RemoteCluster } from '../clusters.ts';
import { withBenchHost, type BenchContext } from '../context.ts';
import { cpuSeconds } from '../proc.ts';
import { DRAIN_MS, markResourceVersion } from './churn.ts';

const FLOOR_SCRIPT = path.join(import.meta.dirname, '..', 'floors', 'watch-events.ts');
const MAX_SECONDS = 20;
const CONNECT_TIMEOUT_MS = 10_000;

export interface WatchFloor {
  events: number;
  cpuSeconds: number;
}

export async function measureWatchFloor(context: BenchContext, remote: RemoteCluster): Promise<WatchFloor> {
  const { emulator } = remote;
  return withBenchHost(context, async ({ host }) => {
    const from = markResourceVersion(remote);
    const client = host.launch(process.execPath, [FLOOR_SCRIPT, emulator.url, emulator.caFile, emulator.tokenPath, String(from)], {});
    const exited = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const lines: string[] = [];
    const errors: string[] = [];
    createInterface({ input: client.stderr! }).on('line', (line) => errors.push(line));
    const connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the watch floor client did not connect within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      createInterface({ input: client.stdout! }).on('line', (line) => {
        lines.push(line);
        if (line === 'watching') {
          clearTimeout(timer);
          resolve();
        }
      });
      // After `watching`, this rejection is a no-op: the promise is settled.
      client.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`the watch floor client exited: ${errors.slice(-5).join(' | ')}`));
      });
    });
    try {
      await connected;
      const before = await cpuSeconds(client.pid as number);
      emulator.startHeartbeats(remote.nodes.length / 10);
      try {
        await delay(Math.min(context.options.churnSeconds, MAX_SECONDS) * 1000);
      } finally {
        emulator.stopHeartbeats();
      }
      await delay(DRAIN_MS);
      const after = await cpuSeconds(client.pid as number);
      client.kill('SIGTERM');
      await exited;
      const report = JSON.parse(lines.at(-1) ?? '{}') as { events?: number };
      if (!report.events) throw new Error(`the watch floor client received no events: ${lines.at(-1)}`);
      return { events: report.events, cpuSeconds: after - before };
    } finally {
      client.kill('SIGKILL');
    }
  });
}
