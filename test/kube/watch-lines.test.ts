import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWatchEvent } from '../../src/kube/watch-event.ts';
import { LineSplitter } from '../../src/kube/watch-lines.ts';

/** Feeds `text` in chunks cut at `cuts` (byte offsets) and collects the lines. */
function split(text: string, cuts: number[]): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const splitter = new LineSplitter();
  const lines: string[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    lines.push(...splitter.push(bytes.subarray(start, cut)));
    start = cut;
  }
  const last = splitter.end();
  if (last !== null) lines.push(last);
  return lines;
}

test('LineSplitter reassembles lines whatever the chunking', () => {
  const text = '{"a":1}\n{"b":"ü€"}\n\n{"c":3}\r\n{"d":4}';
  const want = ['{"a":1}', '{"b":"ü€"}', '{"c":3}', '{"d":4}'];
  const length = Buffer.byteLength(text);
  assert.deepEqual(split(text, []), want);
  for (let cut = 1; cut < length; cut++) assert.deepEqual(split(text, [cut]), want, `cut at ${cut}`);
  // One byte at a time: every multi-byte character is split.
  assert.deepEqual(
    split(text, Array.from({ length: length - 1 }, (_, i) => i + 1)),
    want,
  );
});

test('LineSplitter.end returns null when the stream ended on a newline', () => {
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push(Buffer.from('x\n')), ['x']);
  assert.equal(splitter.end(), null);
});

test('parseWatchEvent accepts the five event types and rejects the rest', () => {
  for (const type of ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']) {
    assert.deepEqual(parseWatchEvent(`{"type":"${type}","object":{"k":1}}`), { type, object: { k: 1 } });
  }
  assert.throws(() => parseWatchEvent('{"type":"ADDED"'), /not JSON/);
  assert.throws(() => parseWatchEvent('{"type":"SYNC","object":{}}'), /malformed/);
  assert.throws(() => parseWatchEvent('{"type":"ADDED","object":null}'), /malformed/);
  assert.throws(() => parseWatchEvent('[1]'), /malformed/);
});
