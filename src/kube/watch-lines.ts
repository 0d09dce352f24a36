const NEWLINE = 0x0a;
/**
 * One watch event is one object, and etcd refuses objects over 1.5 MiB
 * (about twice that as JSON): a longer line is not a Node, and fails the
 * watch (which backs off) instead of growing without bound.
 */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Splits a watch response (newline-delimited JSON arriving in arbitrary
 * chunks) into complete lines. Works on bytes, so a multi-byte character
 * split across chunks is decoded whole.
 */
export class LineSplitter {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** The lines completed by this chunk, without their newline; empty lines dropped. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const line = this.#take(chunk.subarray(start, nl));
      if (line !== '') lines.push(line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.#pendingBytes += chunk.length - start;
      if (this.#pendingBytes > MAX_LINE_BYTES) throw new Error(`watch line longer than ${MAX_LINE_BYTES} bytes`);
      this.#pending.push(chunk.subarray(start));
    }
    return lines;
  }

  /** At the end of the stream: the last line if it had no newline. */
  end(): string | null {
    const line = this.#take(Buffer.alloc(0));
    return line === '' ? null : line;
  }

  #take(tail: Buffer): string {
    const bytes = this.#pending.length === 0 ? tail : Buffer.concat([...this.#pending, tail]);
    this.#pending = [];
    this.#pendingBytes = 0;
    return bytes.toString('utf8').trim();
  }
}
