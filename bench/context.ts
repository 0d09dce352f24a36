/**
 * What every scenario runs in: the bridge, the emulated clusters, the exec
 * counter and a fresh emulated host per daemon (or floor) run, so no run
 * inherits a device, a key or a process from the previous one.
 */
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { createLabHost, type LabHost } from '../lab/netns.ts';
import type { BenchOptions } from './args.ts';
import type { BenchClusters } from './clusters.ts';
import type { ExecCounter } from './exec-counter.ts';
import { addEndpointSink, type BenchBridge } from './network.ts';

export interface BenchContext {
  readonly options: BenchOptions;
  /** Unique on the machine (has the pid): names of hosts and links start with it. */
  readonly prefix: string;
  readonly workDirectory: string;
  /** The copy of the launcher and bundle under test (see run.ts). */
  readonly launcher: string;
  readonly bridge: BenchBridge;
  readonly clusters: BenchClusters;
  readonly execCounter: ExecCounter;
  /** Progress for the person running the bench (stderr). */
  progress(message: string): void;
}

export interface BenchHost {
  readonly host: LabHost;
  /** The host's address on the bench bridge. */
  readonly address: string;
  /** A fresh directory for this host's files (keys, floor job). */
  readonly directory: string;
}

let hosts = 0;

/** A fresh host plugged into the bridge, with its endpoint sink; `close` destroys it and everything in it. */
export async function openBenchHost(context: BenchContext): Promise<BenchHost & { close(): Promise<void> }> {
  hosts += 1;
  const host = await createLabHost(`${context.prefix}h${hosts}`);
  try {
    const address = await context.bridge.attach(host);
    await addEndpointSink(host);
    const directory = await mkdtemp(path.join(context.workDirectory, `h${hosts}-`));
    return { host, address, directory, close: () => host.destroy() };
  } catch (error) {
    await host.destroy();
    throw error;
  }
}

/** Runs `work` on a fresh host (openBenchHost); the host goes afterwards. */
export async function withBenchHost<T>(context: BenchContext, work: (benchHost: BenchHost) => Promise<T>): Promise<T> {
  const benchHost = await openBenchHost(context);
  try {
    return await work(benchHost);
  } finally {
    await benchHost.close();
  }
}
