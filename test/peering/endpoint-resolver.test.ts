import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EndpointResolver, type Lookup } from '../../src/peering/endpoint-resolver.ts';
import { ManualClock } from '../support/manual-clock.ts';

/** A lookup the test answers by hand: every call is recorded with its signal and settled later (or never). */
function manualLookup() {
  const calls: { host: string; signal: AbortSignal; settled: boolean; answer: (address: string) => void; fail: (error: Error) => void }[] = [];
  const lookup: Lookup = (host, signal) =>
    new Promise((resolve, reject) => {
      const call = {
        host,
        signal,
        settled: false,
        answer: (address: string) => ((call.settled = true), resolve(address)),
        fail: (error: Error) => ((call.settled = true), reject(error)),
      };
      calls.push(call);
    });
  const running = () => calls.filter((c) => !c.signal.aborted && !c.settled).map((c) => c.host);
  return { lookup, calls, running };
}

function setup(options: { maxConcurrent?: number } = {}) {
  const clock = new ManualClock();
  const fake = manualLookup();
  const changed: string[] = [];
  const resolver = new EndpointResolver({ lookup: fake.lookup, clock, onChange: (host) => changed.push(host), timeoutMs: 5_000, resolvedTtlMs: 60_000, failedTtlMs: 10_000, ...options });
  /** Lets settled look-ups reach the cache. */
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return { clock, fake, resolver, settle, changes: () => changed.length, changed };
}

test('resolver: a first ask is pending, the look-up runs in the background and names the host when done', async () => {
  const s = setup();
  assert.deepEqual(s.resolver.resolve('a.example'), { state: 'pending' });
  assert.deepEqual(s.resolver.resolve('a.example'), { state: 'pending' });
  assert.deepEqual(s.fake.calls.map((c) => c.host), ['a.example'], 'one look-up, however often a pass asks');
  s.fake.calls[0]?.answer('198.18.0.9');
  await s.settle();
  assert.deepEqual(s.changed, ['a.example']);
  assert.deepEqual(s.resolver.resolve('a.example'), { state: 'resolved', address: '198.18.0.9' });
});

test('resolver: a look-up that never answers fails after the timeout, its signal aborted, and is tried again later', async () => {
  const s = setup();
  s.resolver.resolve('slow.example');
  s.clock.advance(4_999);
  await s.settle();
  assert.deepEqual(s.resolver.resolve('slow.example'), { state: 'pending' });
  s.clock.advance(1);
  await s.settle();
  assert.equal(s.fake.calls[0]?.signal.aborted, true);
  assert.deepEqual(s.resolver.resolve('slow.example'), { state: 'failed', reason: 'unresolvable-endpoint', detail: 'no answer within 5000 ms' });
  assert.equal(s.changes(), 1);
  s.clock.advance(9_999);
  s.resolver.resolve('slow.example');
  assert.equal(s.fake.calls.length, 1, 'not before the failure expires');
  s.clock.advance(1);
  assert.deepEqual(s.resolver.resolve('slow.example'), { state: 'failed', reason: 'unresolvable-endpoint', detail: 'no answer within 5000 ms' }, 'the last outcome while trying again');
  assert.equal(s.fake.calls.length, 2);
  s.fake.calls[1]?.answer('198.18.0.10');
  await s.settle();
  assert.deepEqual(s.resolver.resolve('slow.example'), { state: 'resolved', address: '198.18.0.10' });
  assert.equal(s.changes(), 2);
});

test('resolver: a failure is reported with its message; the same outcome again does not ask for a pass', async () => {
  const s = setup();
  s.resolver.resolve('gone.example');
  s.fake.calls[0]?.fail(new Error('queryA ENOTFOUND gone.example'));
  await s.settle();
  assert.deepEqual(s.resolver.resolve('gone.example'), { state: 'failed', reason: 'unresolvable-endpoint', detail: 'queryA ENOTFOUND gone.example' });
  s.clock.advance(10_000);
  s.resolver.resolve('gone.example');
  s.fake.calls[1]?.fail(new Error('queryA ENOTFOUND gone.example'));
  await s.settle();
  assert.equal(s.changes(), 1);
});

test('resolver: an address is looked up again after its time to live, unasked, the old one used meanwhile', async () => {
  const s = setup();
  s.resolver.resolve('a.example');
  s.fake.calls[0]?.answer('198.18.0.9');
  await s.settle();
  s.clock.advance(59_999);
  assert.equal(s.fake.calls.length, 1);
  s.clock.advance(1);
  assert.equal(s.fake.calls.length, 2, 'no pass needs to ask: a name in use is refreshed');
  assert.deepEqual(s.resolver.resolve('a.example'), { state: 'resolved', address: '198.18.0.9' });
  assert.equal(s.fake.calls.length, 2);
  s.fake.calls[1]?.answer('198.18.0.11');
  await s.settle();
  assert.deepEqual(s.resolver.resolve('a.example'), { state: 'resolved', address: '198.18.0.11' });
});

test('resolver: answers pass the endpoint policy and come back canonical', async () => {
  const s = setup();
  const answers: Record<string, string> = { 'lo.example': '127.0.0.1', 'v6.example': 'FD00:0::5', 'mc.example': 'ff02::1', 'junk.example': 'not-an-ip' };
  for (const host of Object.keys(answers)) s.resolver.resolve(host);
  for (const call of s.fake.calls) call.answer(answers[call.host] ?? '');
  await s.settle();
  assert.deepEqual(s.resolver.resolve('lo.example'), { state: 'failed', reason: 'bad-endpoint', detail: 'resolves to 127.0.0.1 is a loopback address' });
  assert.deepEqual(s.resolver.resolve('v6.example'), { state: 'resolved', address: 'fd00::5' });
  assert.deepEqual(s.resolver.resolve('mc.example'), { state: 'failed', reason: 'bad-endpoint', detail: 'resolves to ff02::1 is a multicast address' });
  assert.deepEqual(s.resolver.resolve('junk.example'), { state: 'failed', reason: 'unresolvable-endpoint', detail: "the answer 'not-an-ip' is not an IP address" });
});

test('resolver: at most maxConcurrent look-ups at once; a name that hangs does not hold back the others', async () => {
  const s = setup({ maxConcurrent: 2 });
  for (const host of ['hang.example', 'b.example', 'c.example', 'd.example']) s.resolver.resolve(host);
  assert.deepEqual(s.fake.running(), ['hang.example', 'b.example']);
  s.fake.calls[1]?.answer('198.18.0.2');
  await s.settle();
  assert.deepEqual(s.fake.running(), ['hang.example', 'c.example']);
  s.fake.calls[2]?.answer('198.18.0.3');
  await s.settle();
  s.fake.calls[3]?.answer('198.18.0.4');
  await s.settle();
  for (const [host, address] of [['b.example', '198.18.0.2'], ['c.example', '198.18.0.3'], ['d.example', '198.18.0.4']] as const) {
    assert.deepEqual(s.resolver.resolve(host), { state: 'resolved', address });
  }
  assert.deepEqual(s.resolver.resolve('hang.example'), { state: 'pending' });
  s.clock.advance(5_000);
  await s.resolver.idle();
  assert.equal(s.resolver.resolve('hang.example').state, 'failed');
});

test('resolver: a forgotten name is never looked up again, queued or answered; stop forgets every name', async () => {
  const s = setup({ maxConcurrent: 1 });
  s.resolver.resolve('kept.example');
  s.resolver.resolve('queued.example');
  s.resolver.forget('queued.example');
  s.fake.calls[0]?.answer('198.18.0.1');
  await s.settle();
  assert.deepEqual(s.fake.calls.map((c) => c.host), ['kept.example'], 'the forgotten name is never looked up');
  assert.deepEqual(s.resolver.resolve('kept.example'), { state: 'resolved', address: '198.18.0.1' });
  assert.deepEqual(s.resolver.resolve('queued.example'), { state: 'pending' }, 'asked again: a new look-up');
  await s.settle();
  assert.deepEqual(s.fake.calls.map((c) => c.host), ['kept.example', 'queued.example']);
  s.fake.calls[1]?.answer('198.18.0.2');
  await s.settle();
  s.resolver.forget('kept.example');
  s.resolver.stop();
  s.clock.advance(120_000);
  assert.equal(s.fake.calls.length, 2, 'no refresh of a forgotten name');
  assert.deepEqual(s.clock.pending, [], 'no timer left');
});
