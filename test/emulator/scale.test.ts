import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { getFromProcess, spawnEmulator, type EmulatorProcess, type WireList } from './helpers.ts';

const NODES = 10_000;
const PAGE = 500;
const HEARTBEATS_PER_SECOND = 1000;
const WATCHERS = 5;
const CHURN_MS = 3000;

/** CPU seconds (user + system) a process has used, from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function rssMB(pid: number): Promise<number> {
  const match = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}

/** A watch that only counts MODIFIED lines and bytes: the client must not be what limits the rate. */
interface CountingWatch {
  modified: number;
  bytes: number;
  close(): void;
}

async function countingWatch(emulator: EmulatorProcess, resourceVersion: string): Promise<CountingWatch> {
  const token = await readFile(emulator.endpoints.tokenPath, 'utf8');
  return new Promise((resolve, reject) => {
    const url = new URL(`/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=${resourceVersion}`, emulator.endpoints.url);
    const req = request(url, { headers: { authorization: `Bearer ${token}` }, ca: emulator.caPem, agent: false }, (response) => {
      const counts: CountingWatch = { modified: 0, bytes: 0, close: () => req.destroy() };
      let tail = '';
      response.setEncoding('latin1');
      response.on('data', (chunk: string) => {
        counts.bytes += chunk.length;
        const text = tail + chunk;
        // Only complete lines count; the rest waits for the next chunk.
        const lastLine = text.lastIndexOf('\n');
        let at = text.indexOf('{"type":"MODIFIED"');
        while (at >= 0 && at < lastLine) {
          counts.modified++;
          at = text.indexOf('{"type":"MODIFIED"', at + 1);
        }
        tail = text.slice(lastLine + 1);
      });
      response.on('error', () => undefined);
      resolve(counts);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('emulator at scale', () => {
  it(`serves ${NODES} realistic nodes in pages of ${PAGE} and fans ${HEARTBEATS_PER_SECOND} heartbeats/s out to ${WATCHERS} watchers`, async (t) => {
    const started = Date.now();
    const emulator = await spawnEmulator(t, ['--seed', String(NODES), '--history-limit', '5000']);
    const pid = emulator.child.pid ?? 0;
    t.diagnostic(`start with ${NODES} seeded nodes: ${Date.now() - started} ms, emulator RSS ${await rssMB(pid)} MB`);

    const listStarted = Date.now();
    const cpuBeforeList = await cpuSeconds(pid);
    const names: string[] = [];
    let continueToken = '';
    let listRV = '';
    let bytes = 0;
    let pages = 0;
    do {
      const query = `limit=${PAGE}${continueToken === '' ? '' : `&continue=${encodeURIComponent(continueToken)}`}`;
      const response = await getFromProcess(emulator, `/api/v1/nodes?${query}`);
      assert.equal(response.status, 200);
      bytes += response.text.length;
      const page = JSON.parse(response.text) as WireList;
      if (listRV === '') listRV = page.metadata.resourceVersion;
      assert.equal(page.metadata.resourceVersion, listRV, 'every page is at the first page’s resourceVersion');
      names.push(...page.items.map((node) => node.metadata.name));
      continueToken = page.metadata.continue ?? '';
      pages++;
    } while (continueToken !== '');
    const listMs = Date.now() - listStarted;
    const listCpu = (await cpuSeconds(pid)) - cpuBeforeList;
    assert.equal(pages, NODES / PAGE);
    assert.equal(names.length, NODES);
    assert.equal(new Set(names).size, NODES);
    assert.deepEqual(names, [...names].sort());
    t.diagnostic(
      `paged list: ${pages} pages, ${(bytes / 1e6).toFixed(1)} MB (${Math.round(bytes / NODES)} B/node) in ${listMs} ms; emulator CPU ${listCpu.toFixed(2)} s; RSS ${await rssMB(pid)} MB`,
    );

    const watches = await Promise.all(Array.from({ length: WATCHERS }, () => countingWatch(emulator, listRV)));
    t.after(() => watches.forEach((watch) => watch.close()));
    const cpuBefore = await cpuSeconds(pid);
    const churnStarted = Date.now();
    await emulator.control.startHeartbeats(HEARTBEATS_PER_SECOND);
    await delay(CHURN_MS);
    await emulator.control.stopHeartbeats();
    const churnSeconds = (Date.now() - churnStarted) / 1000;
    const cpu = (await cpuSeconds(pid)) - cpuBefore;
    const probe = JSON.parse((await getFromProcess(emulator, '/api/v1/nodes?limit=1')).text) as WireList;
    const written = Number(probe.metadata.resourceVersion) - Number(listRV);
    for (let i = 0; i < 500 && watches.some((watch) => watch.modified < written); i++) await delay(10);
    const counters = await emulator.control.counters();
    t.diagnostic(
      `heartbeats: ${written} events in ${churnSeconds.toFixed(2)} s (${Math.round(written / churnSeconds)}/s) to ${WATCHERS} watchers; ` +
        `received ${watches.map((watch) => watch.modified).join('/')}; ` +
        `${(watches.reduce((sum, watch) => sum + watch.bytes, 0) / 1e6 / churnSeconds).toFixed(1)} MB/s out; ` +
        `emulator CPU ${((cpu / churnSeconds) * 100).toFixed(0)}% of one core; RSS ${await rssMB(pid)} MB; counters.bytesSent ${(counters.bytesSent / 1e6).toFixed(0)} MB`,
    );
    assert.ok(written >= HEARTBEATS_PER_SECOND * churnSeconds * 0.4, `only ${written} heartbeats in ${churnSeconds} s`);
    for (const watch of watches) assert.equal(watch.modified, written, 'every watcher gets every event');
  });
});
