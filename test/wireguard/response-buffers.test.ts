import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { READ_SIZE, ResponseBuffers } from '../../src/wireguard/response-buffers.ts';

/** Writes `text` into the reader as socket reads of at most `piece` bytes would. */
function readInto(reader: ReturnType<ResponseBuffers['lend']>, text: string, piece: number): void {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += piece) {
    const space = reader.space();
    assert.ok(space.length >= READ_SIZE, 'every read is offered at least READ_SIZE bytes');
    const n = bytes.copy(space, 0, at, Math.min(at + piece, bytes.length));
    reader.advance(n);
  }
}

describe('ResponseBuffers', () => {
  it('keeps a response that outgrows the buffer whole, across many reads', () => {
    const text = 'public_key=ab\nallowed_ip=10.0.0.0/24\n'.repeat(20_000);
    const reader = new ResponseBuffers().lend();
    readInto(reader, text, READ_SIZE);
    assert.equal(reader.length, Buffer.byteLength(text));
    assert.equal(reader.bytes().toString('utf8'), text);
  });

  it('lends a given-back buffer again: no new memory for the next response, and the old one is no longer current', () => {
    const buffers = new ResponseBuffers();
    const first = buffers.lend();
    readInto(first, 'x'.repeat(200_000), 50_000);
    const memory = first.bytes().buffer;
    first.giveBack();
    assert.ok(first.isCurrent(), 'readable until lent again');
    assert.equal(first.bytes().toString('utf8', 0, 3), 'xxx');

    const second = buffers.lend();
    assert.equal(first.isCurrent(), false);
    readInto(second, 'y'.repeat(200_000), 50_000);
    assert.equal(second.bytes().buffer, memory, 'the grown buffer itself, reused');
    assert.equal(second.bytes().toString('utf8'), 'y'.repeat(200_000));
  });

  it('lends different buffers to reads at the same time, and a buffer given back twice only once', () => {
    const buffers = new ResponseBuffers();
    const a = buffers.lend();
    const b = buffers.lend();
    readInto(a, 'aaa', 3);
    readInto(b, 'bbb', 3);
    assert.notEqual(a.bytes().buffer, b.bytes().buffer);
    assert.equal(a.bytes().toString(), 'aaa');
    a.giveBack();
    a.giveBack();
    const c = buffers.lend();
    const d = buffers.lend();
    assert.notEqual(c.bytes().buffer, d.bytes().buffer, 'a double give-back must not lend one buffer twice');
  });
});
