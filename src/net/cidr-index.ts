import { enclosingCidr, lastAddress, type Cidr } from './cidr.ts';

interface Entry<T> {
  cidr: Cidr;
  value: T;
}

/** Below this many blocks added since the last query, each is put in place; above it, one sort. */
const SPLICE_LIMIT = 16;

/**
 * Blocks and what they belong to, to find every block that overlaps a given
 * one. CIDR blocks are aligned, so two overlap exactly when one contains the
 * other: the blocks that contain a block are found by one exact lookup per
 * shorter prefix length in use, and the blocks it contains (or equals) are
 * the ones that start inside its range, a binary search among the blocks
 * sorted by first address. A query costs about the number of prefix
 * lengths in use plus what it finds, whatever the number of blocks.
 */
export class CidrIndex<T> {
  readonly #families = { 4: new FamilyIndex<T>(), 6: new FamilyIndex<T>() };

  add(cidr: Cidr, value: T): void {
    this.#families[cidr.family].add({ cidr, value });
  }

  /** Removes one entry of `value` for exactly this block; false when there is none. */
  delete(cidr: Cidr, value: T): boolean {
    return this.#families[cidr.family].delete(cidr, value);
  }

  /** Every value of a block that shares an address with `cidr`: blocks that contain it first, then the ones inside it by address. */
  overlapping(cidr: Cidr): T[] {
    return this.#families[cidr.family].overlapping(cidr);
  }
}

class FamilyIndex<T> {
  /** prefix length → network address → values: the lookup of the blocks that contain a block. */
  readonly #exact = new Map<number, Map<bigint, T[]>>();
  /** By first address, then prefix length: the range scan of the blocks inside a block. */
  #sorted: Entry<T>[] = [];
  /** Added since the last query: sorted in then, one at a time or all at once (a first pass adds thousands). */
  #added: Entry<T>[] = [];

  add(entry: Entry<T>): void {
    const { prefixLength, address } = entry.cidr;
    let byAddress = this.#exact.get(prefixLength);
    if (!byAddress) {
      byAddress = new Map();
      this.#exact.set(prefixLength, byAddress);
    }
    const values = byAddress.get(address);
    if (values) values.push(entry.value);
    else byAddress.set(address, [entry.value]);
    this.#added.push(entry);
  }

  delete(cidr: Cidr, value: T): boolean {
    const byAddress = this.#exact.get(cidr.prefixLength);
    const values = byAddress?.get(cidr.address);
    const at = values?.indexOf(value) ?? -1;
    if (!byAddress || !values || at < 0) return false;
    values.splice(at, 1);
    if (values.length === 0) byAddress.delete(cidr.address);
    if (byAddress.size === 0) this.#exact.delete(cidr.prefixLength);
    const same = (entry: Entry<T>) => entry.value === value && entry.cidr.prefixLength === cidr.prefixLength && entry.cidr.address === cidr.address;
    const added = this.#added.findIndex(same);
    if (added >= 0) {
      this.#added.splice(added, 1);
      return true;
    }
    for (let i = firstAtOrAfter(this.#sorted, cidr.address); i < this.#sorted.length && (this.#sorted[i] as Entry<T>).cidr.address === cidr.address; i++) {
      if (same(this.#sorted[i] as Entry<T>)) {
        this.#sorted.splice(i, 1);
        return true;
      }
    }
    throw new Error('CidrIndex: an entry is in the exact map but not in the sorted list');
  }

  overlapping(cidr: Cidr): T[] {
    this.#sortAdded();
    const found: T[] = [];
    for (const [prefixLength, byAddress] of this.#exact) {
      if (prefixLength >= cidr.prefixLength) continue;
      const values = byAddress.get(enclosingCidr(cidr, prefixLength).address);
      if (values) found.push(...values);
    }
    const last = lastAddress(cidr);
    for (let i = firstAtOrAfter(this.#sorted, cidr.address); i < this.#sorted.length; i++) {
      const entry = this.#sorted[i] as Entry<T>;
      if (entry.cidr.address > last) break;
      // A shorter block starting here contains this one: the lookup above found it.
      if (entry.cidr.prefixLength >= cidr.prefixLength) found.push(entry.value);
    }
    return found;
  }

  #sortAdded(): void {
    if (this.#added.length === 0) return;
    if (this.#added.length <= SPLICE_LIMIT) {
      for (const entry of this.#added) this.#sorted.splice(firstAfter(this.#sorted, entry.cidr), 0, entry);
    } else {
      this.#sorted = [...this.#sorted, ...this.#added].sort(byPosition);
    }
    this.#added = [];
  }
}

function byPosition<T>(a: Entry<T>, b: Entry<T>): number {
  return comparePosition(a.cidr, b.cidr);
}

function comparePosition(a: Cidr, b: Cidr): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  return a.prefixLength - b.prefixLength;
}

/** Index of the first entry whose address is ≥ `address`. */
function firstAtOrAfter<T>(sorted: readonly Entry<T>[], address: bigint): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((sorted[middle] as Entry<T>).cidr.address < address) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Index after every entry that sorts at or before `cidr`: where it goes. */
function firstAfter<T>(sorted: readonly Entry<T>[], cidr: Cidr): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (comparePosition((sorted[middle] as Entry<T>).cidr, cidr) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}
