/**
 * Buffers that UAPI responses are read into, kept and handed out again:
 * the reply to `get` is ~250 bytes per peer (1.3 MB at 5,000 peers), read
 * on every reconcile tick. Read into fresh 64 KB chunks and concatenated,
 * each tick allocated twice that outside the JavaScript heap, which only a
 * collection gives back, and the concatenation was a fifth of an idle tick
 * (docs/design.md, "The idle floor"). A process needs as many buffers as it
 * has reads at the same time: one or two.
 */

/** The least free space offered to one socket read: what Node reads at a time. */
export const READ_SIZE = 64 * 1024;

interface Slot {
  buffer: Buffer;
  generation: number;
}

export class ResponseBuffers {
  readonly #free: Slot[] = [];

  /** A buffer to read one response into: a free one, or a new one. */
  lend(): ResponseReader {
    const slot = this.#free.pop() ?? { buffer: Buffer.allocUnsafe(READ_SIZE), generation: 0 };
    slot.generation++;
    return new ResponseReader(slot, () => this.#free.push(slot));
  }
}

/**
 * One response being read into a lent buffer, which grows (doubling) while
 * the response does not fit. After `giveBack`, what was read stays in the
 * buffer until it is lent again: `isCurrent` tells a reader whether it still is.
 */
export class ResponseReader {
  readonly #slot: Slot;
  readonly #giveBack: () => void;
  readonly generation: number;
  #length = 0;
  #returned = false;

  constructor(slot: Slot, giveBack: () => void) {
    this.#slot = slot;
    this.#giveBack = giveBack;
    this.generation = slot.generation;
  }

  /** Where the next socket read goes: at least READ_SIZE bytes after what was read. */
  space(): Buffer {
    const slot = this.#slot;
    if (slot.buffer.length - this.#length < READ_SIZE) {
      const grown = Buffer.allocUnsafe(Math.max(slot.buffer.length * 2, this.#length + READ_SIZE));
      slot.buffer.copy(grown, 0, 0, this.#length);
      slot.buffer = grown;
    }
    return slot.buffer.subarray(this.#length);
  }

  /** `bytes` more were read into the last `space()`. */
  advance(bytes: number): void {
    this.#length += bytes;
  }

  get length(): number {
    return this.#length;
  }

  /** What was read so far: a view of the lent buffer, not a copy. */
  bytes(): Buffer {
    return this.#slot.buffer.subarray(0, this.#length);
  }

  /** False once the buffer was lent again: `bytes()` then holds another response. */
  isCurrent(): boolean {
    return this.#slot.generation === this.generation;
  }

  /** The buffer goes back to the pool; what was read stays readable until it is lent again. */
  giveBack(): void {
    if (this.#returned) return;
    this.#returned = true;
    this.#giveBack();
  }
}
