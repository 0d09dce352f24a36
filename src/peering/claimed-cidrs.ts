import { cidrsOverlap, type Cidr } from '../net/cidr.ts';

export interface Claim {
  cidr: Cidr;
  /** The node whose peer has this block. */
  owner: string;
}

interface Range {
  first: bigint;
  last: bigint;
}

const BITS = { 4: 32, 6: 128 } as const;

function rangeOf(cidr: Cidr): Range {
  const hostBits = BigInt(BITS[cidr.family] - cidr.prefixLength);
  return { first: cidr.address, last: cidr.address | ((1n << hostBits) - 1n) };
}

/**
 * The pod CIDRs given to peers so far in one decision, and who has them.
 * Claims never overlap each other (an overlapping block is refused before
 * it is claimed), so per family they are disjoint ranges; kept sorted by
 * first address, a block overlaps a claim exactly when the last range that
 * starts at or before the block's end reaches its start. One binary search
 * instead of a scan of every claim: with a scan, 5,000 nodes cost 12.5
 * million BigInt comparisons per pass (seconds), 10,000 four times that.
 */
export class ClaimedCidrs {
  /** In claim order: which clash to name is the first claimed, as before. */
  readonly #claims: Claim[] = [];
  readonly #ranges: Record<4 | 6, Range[]> = { 4: [], 6: [] };

  /** The first claim (in claim order) that overlaps `cidr`, or null when it is free. */
  clash(cidr: Cidr): Claim | null {
    const ranges = this.#ranges[cidr.family];
    const range = rangeOf(cidr);
    const before = ranges[this.#lastStartingAtOrBefore(ranges, range.last)];
    if (before === undefined || before.last < range.first) return null;
    // Rare (a misconfigured node): a scan finds the same claim the old code named.
    return this.#claims.find((claim) => cidrsOverlap(claim.cidr, cidr)) ?? null;
  }

  /** Claims a block; it must be free (`clash` returned null). */
  claim(cidr: Cidr, owner: string): void {
    const ranges = this.#ranges[cidr.family];
    const range = rangeOf(cidr);
    const at = this.#lastStartingAtOrBefore(ranges, range.last);
    const before = ranges[at];
    if (before !== undefined && before.last >= range.first) throw new Error(`claimed pod CIDR of ${owner} overlaps an earlier claim`);
    ranges.splice(at + 1, 0, range);
    this.#claims.push({ cidr, owner });
  }

  /** Index of the last range with first ≤ address, -1 when none. */
  #lastStartingAtOrBefore(ranges: readonly Range[], address: bigint): number {
    let low = 0;
    let high = ranges.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((ranges[middle] as Range).first <= address) low = middle + 1;
      else high = middle;
    }
    return low - 1;
  }
}
