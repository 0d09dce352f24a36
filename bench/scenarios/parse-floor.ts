/**
 * The churn floor: JSON.parse of as many watch events as the daemon
 * received, in a bare node process (bench/floors/parse-events.ts). The
 * events are the remote's own nodes as the apiserver sends them
 * (`{"type":"MODIFIED","object":<Node>}`), after the churn moved their
 * heartbeat times; up to 1,000 distinct ones, cycled.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execCommand } from '../../src/process/exec.ts';
import type { RemoteCluster } from '../clusters.ts';
import type { BenchContext } from '../context.ts';

const FLOOR_SCRIPT = path.join(import.meta.dirname, '..', 'floors', 'parse-events.ts');
const DISTINCT_EVENTS = 1_000;

export interface ParseFloor {
  events: number;
  cpuSeconds: number;
}

export async function measureParseFloor(context: BenchContext, remote: RemoteCluster, events: number): Promise<ParseFloor> {
  const lines = remote.nodes.slice(0, DISTINCT_EVENTS).map((node) => `{"type":"MODIFIED","object":${JSON.stringify(remote.emulator.getNode(node.name))}}`);
  const file = path.join(context.workDirectory, `events-${remote.nodes.length}.jsonl`);
  await writeFile(file, `${lines.join('\n')}\n`);
  const { stdout } = await execCommand(process.execPath, [FLOOR_SCRIPT, file, String(events)], { timeoutMs: 300_000 });
  const report = JSON.parse(stdout) as { events: number; cpuMs: number };
  return { events: report.events, cpuSeconds: report.cpuMs / 1000 };
}
