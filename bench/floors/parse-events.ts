/**
 * Churn floor: the CPU a bare process spends on JSON.parse of the same
 * watch events the daemon receives, and nothing else.
 *
 *   node bench/floors/parse-events.ts EVENTS.jsonl COUNT
 *
 * Parses COUNT lines (cycling through the file) and prints one JSON line:
 * CPU (user + system) and wall time of the parsing alone, in ms.
 */
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2] as string, 'utf8').split('\n').filter((line) => line !== '');
const count = Number(process.argv[3]);
if (lines.length === 0 || !(count > 0)) throw new Error('usage: parse-events.ts EVENTS.jsonl COUNT');

let kept = 0;
const cpu = process.cpuUsage();
const wall = performance.now();
for (let i = 0; i < count; i++) {
  const event = JSON.parse(lines[i % lines.length] as string) as { type: string };
  // Used, so the parse cannot be optimised away.
  kept += event.type.length;
}
const used = process.cpuUsage(cpu);
console.log(JSON.stringify({ events: count, cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - wall, kept }));
