/**
 * The fleet scale scenario's pure parts: its options, how many daemons the
 * machine holds (memory, --max-locals, or a cold start that timed out),
 * what an apiserver served per client, the figures, the
 * targets' verdicts, the extrapolation to 1,000 local daemons and the
 * results file when an N fails.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RequestRecord } from '../../lab/emulator/request-log.ts';
import { execCommand } from '../../src/process/exec.ts';
import { ResponseBuffers } from '../../src/wireguard/response-buffers.ts';
import { uapiExchange } from '../../src/wireguard/uapi-client.ts';
import { servedBetween } from '../../bench/apiserver-load.ts';
import { decideCapacity, limitOnColdStartFailure, parseMemInfo, resolveLocals, timedOut, type Capacity } from '../../bench/capacity.ts';
import { pollDevice, readDeviceText } from '../../bench/device-probe.ts';
import { parseFleetScaleArgs } from '../../bench/fleet-scale-args.ts';
import { errorText } from '../../bench/error-text.ts';
import { capacityMarkdown, extrapolate, fleetScaleMarkdown, fleetScaleResultsMarkdown, fleetScaleTargets, summarizeFleetScale } from '../../bench/fleet-scale-summary.ts';
import type { FleetSource } from '../../bench/fleet-scale-args.ts';
import type { FleetScaleRun, Load, ScaleWindow } from '../../bench/scenarios/fleet-scale.ts';

const MB = 1024 * 1024;
const GIB = 1024 ** 3;

describe('parseFleetScaleArgs', () => {
  it('defaults: 1,000 and 5,000 nodes, one run, L = 1, 10 and max (capped at 32), every source, 150 s windows after 60 s', () => {
    const options = parseFleetScaleArgs([]);
    assert.deepEqual(options.nodes, [1000, 5000]);
    assert.equal(options.runs, 1);
    assert.equal(options.churnSeconds, 150);
    assert.equal(options.settleSeconds, 60);
    assert.deepEqual(options.locals, [1, 10, 'max']);
    assert.equal(options.maxLocals, 32);
    assert.deepEqual(options.sources, ['nodes', 'slices', 'mirror']);
  });
  it('its own flags, and the bench flags passed through in either form', () => {
    const options = parseFleetScaleArgs(['--nodes', '300', '--locals=1,2', '--max-locals', '4', '--sources', 'nodes,slices', '--churn-seconds=5', '--runs', '2']);
    assert.deepEqual(options.nodes, [300]);
    assert.deepEqual(options.locals, [1, 2]);
    assert.equal(options.maxLocals, 4);
    assert.deepEqual(options.sources, ['nodes', 'slices']);
    assert.equal(options.churnSeconds, 5);
    assert.equal(options.settleSeconds, 60);
    assert.equal(options.runs, 2);
    assert.equal(parseFleetScaleArgs(['--settle-seconds=7']).settleSeconds, 7);
  });
  const refused: [string[], RegExp][] = [
    [['--locals', '10,1'], /must increase/],
    [['--locals', 'max,10'], /max comes last/],
    [['--locals', '0'], /counts of 1-200/],
    [['--locals', '1,,2'], /comma-separated/],
    [['--max-locals', 'max'], /needs a count/],
    [['--max-locals', '500'], /counts of 1-200/],
    [['--sources', 'nodes,nodes'], /twice/],
    [['--sources', 'kvstore'], /takes nodes, slices, mirror/],
    [['--frobnicate'], /unknown option/],
  ];
  for (const [argv, reason] of refused) it(`refuses ${argv.join(' ')}`, () => assert.throws(() => parseFleetScaleArgs(argv), reason));
});

describe('decideCapacity', () => {
  it('running + (available − reserve) ÷ (per daemon × 1.5), the reserve at least 2 GiB', () => {
    const c = decideCapacity({ availableBytes: 20 * GIB, totalBytes: 8 * GIB, perDaemonBytes: 0.75 * GIB, running: 1, cap: 100 });
    assert.equal(c.reserveBytes, 2 * GIB);
    assert.equal(c.byMemory, 1 + 16); // 18 GiB ÷ 1.125 GiB
    assert.equal(c.locals, 17);
  });
  it('the reserve is 10 % of the machine when that is more', () => {
    const c = decideCapacity({ availableBytes: 40 * GIB, totalBytes: 64 * GIB, perDaemonBytes: 1 * GIB, running: 1, cap: 100 });
    assert.equal(c.reserveBytes, 6.4 * GIB);
    assert.equal(c.byMemory, 1 + 22); // 33.6 ÷ 1.5
  });
  it('the cap bounds it, and it is never below 1; each says what limited it', () => {
    const capped = decideCapacity({ availableBytes: 20 * GIB, totalBytes: 24 * GIB, perDaemonBytes: 100 * MB, running: 1, cap: 32 });
    assert.deepEqual([capped.locals, capped.limitedBy, capped.cpuError], [32, 'cap', null]);
    const starved = decideCapacity({ availableBytes: 1 * GIB, totalBytes: 24 * GIB, perDaemonBytes: 100 * MB, running: 1, cap: 32 });
    assert.deepEqual([starved.locals, starved.limitedBy], [1, 'memory']);
    assert.equal(decideCapacity({ availableBytes: 20 * GIB, totalBytes: 8 * GIB, perDaemonBytes: 0.75 * GIB, running: 1, cap: 17 }).limitedBy, 'cap');
  });
  it('refuses a host measured at nothing', () => assert.throws(() => decideCapacity({ availableBytes: 1, totalBytes: 1, perDaemonBytes: 0, running: 1, cap: 1 }), /nothing to decide/));
});

describe('resolveLocals', () => {
  // A trailing * marks the capacity, stepped towards rather than asked for: only there may a timeout lower it.
  const cases: [Parameters<typeof resolveLocals>[0], number, string][] = [
    [[1, 10, 'max'], 24, '1,10,24*'],
    [[1, 10, 'max'], 6, '1,6*'],
    [[1, 10], 6, '1,6*'],
    [[1, 10, 'max'], 10, '1,10'],
    [[1, 2], 40, '1,2'],
    [[1, 'max'], 1, '1'],
    [['max'], 5, '5*'],
  ];
  for (const [steps, capacity, expected] of cases) {
    it(`${steps.join(',')} with room for ${capacity}: ${expected}`, () =>
      assert.equal(
        resolveLocals(steps, capacity)
          .map((t) => `${t.locals}${t.towardCapacity ? '*' : ''}`)
          .join(),
        expected,
      ));
  }
});

describe('timedOut: a cold start failed because the machine did not keep up', () => {
  let directory = '';
  let silent: Server;
  let closing: Server;
  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'bench-timeout-'));
    // A device socket that never answers, and one that hangs up at once.
    silent = createServer(() => {});
    closing = createServer((socket) => socket.end());
    await Promise.all([
      new Promise<void>((resolve) => silent.listen(path.join(directory, 'silent.sock'), resolve)),
      new Promise<void>((resolve) => closing.listen(path.join(directory, 'closing.sock'), resolve)),
    ]);
  });
  after(async () => {
    silent.close();
    closing.close();
    await rm(directory, { recursive: true, force: true });
  });
  const failure = async (work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      return error;
    }
    throw new Error('expected it to fail');
  };
  const cases: [string, () => Promise<unknown>, boolean][] = [
    ['the peers did not all reach the device in time (pollDevice)', () => failure(() => pollDevice(path.join(directory, 'absent.sock'), () => true, 0)), true],
    [
      'a device read got no answer in time, as a cause (uapiExchange under readDeviceText)',
      async () => new Error('reading device via wg0.sock failed', { cause: await failure(() => uapiExchange(path.join(directory, 'silent.sock'), 'get=1\n\n', 50, new ResponseBuffers().lend())) }),
      true,
    ],
    ['a command ran past its timeout (wg show dump)', () => failure(() => execCommand('sleep', ['5'], { timeoutMs: 50 })), true],
    ['the daemon was not ready in time', () => Promise.resolve(new Error('the daemon was not ready within 300000 ms: 503 not ready')), true],
    ['a device read cut short', () => failure(() => readDeviceText(path.join(directory, 'closing.sock'))), false],
    ['a command that failed', () => failure(() => execCommand('false', [])), false],
    ['the daemon exited', () => Promise.resolve(new Error('the daemon (pid 7) exited ({"code":1,"signal":null}); last log: []; stderr: ')), false],
    ['the device shows the wrong peers', () => Promise.resolve(new Error('after cold start wg show lists 4999 peers, expected 5000; 1 nodes are missing or differ (first: node-1)')), false],
  ];
  for (const [name, make, expected] of cases) it(`${name}: ${expected ? 'timed out' : 'not a timeout'}`, async () => assert.equal(timedOut(await make()), expected));
});

const memoryCapacity = (cap: number) => decideCapacity({ availableBytes: 20 * GIB, totalBytes: 24 * GIB, perDaemonBytes: 0.75 * GIB, running: 1, cap });
const timeout = new Error('reading device via /run/wireguard/cws11.sock failed', { cause: new Error('no complete response within 30000 ms') });

describe('limitOnColdStartFailure', () => {
  const cases: [string, { deciding: boolean; towardCapacity: boolean }, Error, boolean][] = [
    ['a timeout on the way to max, deciding: the limit', { deciding: true, towardCapacity: true }, timeout, true],
    ['a timeout on the way to a count asked for: an error', { deciding: true, towardCapacity: false }, timeout, false],
    ['a timeout once an earlier source decided: an error', { deciding: false, towardCapacity: true }, timeout, false],
    ['anything but a timeout on the way to max: an error', { deciding: true, towardCapacity: true }, new Error('the daemon (pid 7) exited'), false],
  ];
  for (const [name, step, error, limits] of cases) {
    it(name, () => {
      const limited = limitOnColdStartFailure(memoryCapacity(16), { ...step, running: 10 }, error);
      if (!limits) return assert.equal(limited, null);
      assert.deepEqual(limited, {
        ...memoryCapacity(16),
        locals: 10,
        limitedBy: 'cpu',
        cpuError: 'reading device via /run/wireguard/cws11.sock failed: no complete response within 30000 ms',
      });
    });
  }
});

describe('capacityMarkdown', () => {
  const memory = 'memory: 1 running + (20.0 GB available − 2.4 GB reserve) ÷ (768 MB per daemon and its wireguard-go × 1.5).';
  const cases: [string, Capacity, string][] = [
    ['memory', memoryCapacity(32), `As many daemons as the machine holds: **16** = min(--max-locals 32, memory 16), limited by memory; ${memory}`],
    ['cap', memoryCapacity(12), `As many daemons as the machine holds: **12** = min(--max-locals 12, memory 16), limited by --max-locals; ${memory}`],
    [
      'cpu',
      limitOnColdStartFailure(memoryCapacity(32), { deciding: true, towardCapacity: true, running: 10 }, timeout)!,
      'As many daemons as the machine holds: **10**, limited by CPU: the machine could not keep up with daemon 11, whose cold start failed ' +
        '(reading device via /run/wireguard/cws11.sock failed: no complete response within 30000 ms), so `max` is the 10 running; ' +
        `min(--max-locals 32, memory 16) = 16 would have allowed more; ${memory}`,
    ],
  ];
  for (const [limitedBy, capacity, expected] of cases) it(`limited by ${limitedBy}`, () => assert.equal(capacityMarkdown(capacity), expected));
});

it('parseMemInfo reads MemAvailable and MemTotal', () => {
  const text = 'MemTotal:       24684000 kB\nMemFree:        21000000 kB\nMemAvailable:   22900000 kB\n';
  assert.deepEqual(parseMemInfo(text), { availableBytes: 22900000 * 1024, totalBytes: 24684000 * 1024 });
  assert.throws(() => parseMemInfo('MemTotal: 1 kB\n'), /MemAvailable/);
});

describe('servedBetween', () => {
  const record = (seq: number, user: string, bytesSent: number, watch = false): RequestRecord => ({
    seq, user, client: '198.18.0.1', verb: watch ? 'watch' : 'get', apiGroup: '', resource: 'nodes', namespace: '', name: '', path: '/', watch, code: 200, bytesSent, startedAt: 0, endedAt: watch ? null : 1,
  });
  it('requests begun in the window count whole; a watch open at its start counts what it sent since', () => {
    const before = [record(1, 'a', 500), record(2, 'a', 1000, true), record(3, 'b', 70, true)];
    const after = [record(1, 'a', 500), record(2, 'a', 1600, true), record(3, 'b', 70, true), record(4, 'b', 30), record(5, 'c', 5)];
    const served = servedBetween(before, after, (user) => (user === 'c' ? 'other' : user));
    assert.deepEqual(served.get('a'), { bytes: 600, requests: 0 });
    assert.deepEqual(served.get('b'), { bytes: 30, requests: 1 });
    assert.deepEqual(served.get('other'), { bytes: 5, requests: 1 });
  });
  it('a record of before that the log dropped meanwhile counts nothing', () => {
    assert.equal(servedBetween([record(1, 'a', 10), record(2, 'a', 10)], [record(2, 'a', 10), record(3, 'a', 4)], (u) => u).get('a')?.bytes, 4);
  });
});

function load(daemonsMB: number, mirrorMB: number, publisherMB: number): Load {
  return {
    daemons: { bytes: daemonsMB * MB, requests: daemonsMB > 0 ? 60 : 0 },
    mirror: { bytes: mirrorMB * MB, requests: mirrorMB > 0 ? 2 : 0 },
    publisher: { bytes: publisherMB * MB, requests: 0 },
    other: { bytes: 0, requests: 0 },
  };
}

/** A 60 s window (so per hour = × 60) with daemon CPUs and propagation times. */
function window(source: FleetSource, locals: number, remote: Load, localLoad: Load, daemonCpu: number[], visible: number[]): ScaleWindow {
  return {
    source,
    locals,
    seconds: 60,
    events: 6000,
    remote,
    local: localLoad,
    daemonCpuSeconds: daemonCpu,
    mirrorCpuSeconds: source === 'mirror' ? 2 : null,
    publisherCpuSeconds: source === 'nodes' ? null : 1,
    wireguardCpuSeconds: 10,
    loadAverage: 1.5,
    propagation: {
      changes: visible.map((ms) => ({
        kind: 'endpoint',
        node: 'n',
        visibleMs: ms,
        notVisibleMs: 0,
        appliedMs: ms - 5,
        publishedMs: source === 'nodes' ? null : ms - 30,
        mirroredMs: source === 'mirror' ? ms - 20 : null,
        polls: 1,
      })),
      pollMs: [3],
    },
  };
}

const capacity = decideCapacity({ availableBytes: 20 * GIB, totalBytes: 24 * GIB, perDaemonBytes: 0.75 * GIB, running: 1, cap: 32 });
const none = load(0, 0, 0);

function scaleRun(mirrorBytesAtTen: number, mirrorCpu: number, mirrorP99: number): FleetScaleRun {
  return {
    nodes: 5000,
    run: 1,
    capacity,
    windows: [
      window('nodes', 1, load(10, 0, 0), none, [2], [100, 200]),
      window('nodes', 10, load(100, 0, 0), none, [2, 3, 1, 2, 2, 2, 2, 2, 2, 4], [100, 300]),
      window('slices', 1, load(0.01, 0, 1), none, [0.5], [50, 60]),
      window('slices', 10, load(0.1, 0, 1), none, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [50, 70]),
      window('mirror', 1, load(0, 0.5, 1), load(0.01, 0.001, 0), [mirrorCpu], [80, 90]),
      window('mirror', 10, load(0, mirrorBytesAtTen - 1, 1), load(0.1, 0.001, 0), Array.from({ length: 10 }, () => mirrorCpu), [80, mirrorP99]),
    ],
  };
}

describe('summarizeFleetScale', () => {
  const summary = summarizeFleetScale([scaleRun(1.5, 0.01, 95)]);
  const cell = (source: FleetSource, locals: number) => summary.cells.find((c) => c.source === source && c.locals === locals)!;
  it('one cell per source and L, per hour (a 60 s window × 60), every client kind and their total', () => {
    assert.equal(summary.cells.length, 6);
    assert.equal(cell('nodes', 10).remote.perKind.daemons.mbPerHour.median, 6000);
    assert.equal(cell('mirror', 1).remote.total.mbPerHour.median, 90);
    assert.equal(cell('mirror', 10).local.perKind.daemons.mbPerHour.median, 6);
    assert.equal(cell('nodes', 1).remote.total.requestsPerHour.median, 3600);
  });
  it('daemon CPU: the median of the L daemons, and their spread', () => {
    assert.equal(cell('nodes', 10).daemonCpuSecondsPerHour.median, 120);
    assert.deepEqual(cell('nodes', 10).daemonCpuSpread, { min: 60, max: 240 });
    assert.equal(cell('nodes', 1).mirrorCpuSecondsPerHour, null);
    assert.equal(cell('mirror', 10).mirrorCpuSecondsPerHour?.median, 120);
  });
  it('propagation percentiles per window (nearest rank)', () => {
    assert.equal(cell('nodes', 10).propagation.p99Ms.median, 300);
    assert.equal(cell('nodes', 10).propagation.p50Ms.median, 100);
  });
  it('the publisher and mirror steps of propagation, only where they are in the path', () => {
    assert.equal(cell('nodes', 1).propagation.publishedP99Ms, null);
    assert.equal(cell('slices', 10).propagation.publishedP99Ms?.median, 40);
    assert.equal(cell('slices', 10).propagation.mirroredP99Ms, null);
    assert.equal(cell('mirror', 10).propagation.mirroredP99Ms?.median, 75);
  });
  it('a change the mirror wrote no slice for counts as never written', () => {
    const run = scaleRun(1.5, 0.01, 95);
    const last = run.windows.at(-1)!;
    last.propagation.changes[0] = { ...last.propagation.changes[0]!, mirroredMs: null };
    assert.equal(summarizeFleetScale([run]).cells.at(-1)!.propagation.mirroredP99Ms?.median, Infinity);
  });
  it('refuses runs at different node counts', () => {
    assert.throws(() => summarizeFleetScale([scaleRun(1.5, 0.01, 95), { ...scaleRun(1.5, 0.01, 95), nodes: 1000 }]), /different node counts/);
  });
});

describe('fleetScaleTargets', () => {
  const verdicts = (run: FleetScaleRun) => fleetScaleTargets(summarizeFleetScale([run])).map((t) => t.verdict);
  it('met: mirror bytes flat within 10 %, mirror daemons under 1 % of nodes, p99 under 2 s everywhere', () => {
    // mirror at L = 10: 1.59 MB against 1.5 MB at L = 1 (daemon CPU 0.01 s against 2 s on nodes: 0.5 %).
    assert.deepEqual(verdicts(scaleRun(1.59, 0.01, 95)), ['met', 'met', 'met', 'met', 'met']);
  });
  it('missed: bytes grow 20 %, CPU at 5 %, p99 at 2 s', () => {
    const targets = fleetScaleTargets(summarizeFleetScale([scaleRun(1.8, 0.1, 2000)]));
    assert.deepEqual(targets.map((t) => t.verdict), ['missed', 'missed', 'met', 'met', 'missed']);
    // The remote serves (0.5 + 1) MB per minute at L = 1, (0.8 + 1) MB at L = 10.
    assert.equal(targets[0]!.measured, '1.200x (90.00 → 108.00 MB/h)');
    assert.match(targets[1]!.measured, /worst 5\.0 % \(at L = 1;/);
    assert.match(targets[4]!.measured, /worst 2,000 ms \(at L = 10\)/);
  });
  it('not measured when the mirror ran at one L only, or without nodes', () => {
    const run = scaleRun(1.5, 0.01, 95);
    const onlyMirrorAtOne = { ...run, windows: run.windows.filter((w) => w.source === 'mirror' && w.locals === 1) };
    assert.deepEqual(verdicts(onlyMirrorAtOne), ['not measured', 'not measured', 'met']);
  });
});

describe('extrapolate', () => {
  const summary = summarizeFleetScale([scaleRun(1.5, 0.01, 95)]);
  it('others once plus 1,000 × daemons ÷ L, from the largest L', () => {
    const nodes = extrapolate(summary.cells.find((c) => c.source === 'nodes' && c.locals === 10)!);
    assert.equal(nodes.remoteMbPerHour, (1000 * 6000) / 10);
    assert.equal(nodes.remoteRequestsPerHour, (1000 * 3600) / 10);
    const mirror = extrapolate(summary.cells.find((c) => c.source === 'mirror' && c.locals === 10)!);
    // The remote serves the local mirror (0.5 MB) and the publisher (1 MB) once, whatever L: × 60 per hour.
    assert.equal(mirror.remoteMbPerHour, 90);
    assert.equal(mirror.localMbPerHour, 0.06 + (1000 * 6) / 10);
  });
  it('the markdown labels it an extrapolation, with its formula, and gives every target a verdict', () => {
    const text = fleetScaleMarkdown('today', 1, 60, 10, summary);
    assert.match(text, /\*\*Extrapolation, not a measurement\*\*: 1,000 local daemons × 5,000 remote nodes/);
    assert.match(text, /others\(L\) \+ 1,000 × daemons\(L\) ÷ L/);
    assert.match(text, /\| `nodes` \| 10 \| 585\.94 GB \| 360,000 \|/);
    assert.match(text, /\| `mirror` \| 10 \| 0\.09 GB \| 120 \| 0\.59 GB \| 360,120 \|/);
    assert.match(text, /^As many daemons as the machine holds: \*\*16\*\* = min\(--max-locals 32, memory 16\), limited by memory;/m);
    assert.equal(text.match(/\| (met|\*\*missed\*\*|not measured) \|$/gm)?.length, 5);
  });
});

describe('errorText', () => {
  const cases: [string, unknown, string][] = [
    ['a message', new Error('boom'), 'boom'],
    [
      'every cause, outermost first, on one line',
      new Error('reading device via /run/wireguard/wg0.sock failed', { cause: new Error('no complete response\nwithin 30000 ms') }),
      'reading device via /run/wireguard/wg0.sock failed: no complete response within 30000 ms',
    ],
    ['a thrown non-error', 'just a string', 'just a string'],
    ['a non-error cause', new Error('outer', { cause: 42 }), 'outer: 42'],
  ];
  for (const [name, error, expected] of cases) it(name, () => assert.equal(errorText(error), expected));
});

describe('fleetScaleResultsMarkdown', () => {
  const section = fleetScaleMarkdown('today', 1, 60, 10, summarizeFleetScale([{ ...scaleRun(1.5, 0.01, 95), nodes: 1000 }]));
  const failed = { nodes: 5000, error: 'the daemon was not ready within 300000 ms: no answer yet' };
  it('every N that finished, as it is', () => assert.equal(fleetScaleResultsMarkdown([section, section], null), `${section}\n${section}`));
  it('the N that finished, then which N failed and why', () => {
    const text = fleetScaleResultsMarkdown([section], failed);
    assert.ok(text.startsWith(section));
    assert.match(text, /\n\*\*5,000 remote nodes: failed\*\*, the bench stopped there \(the N above finished\): the daemon was not ready within 300000 ms: no answer yet\n$/);
  });
  it('a failure at the first N says that none finished', () =>
    assert.equal(fleetScaleResultsMarkdown([], failed), '**5,000 remote nodes: failed**, the bench stopped there (no N finished): the daemon was not ready within 300000 ms: no answer yet\n'));
});
