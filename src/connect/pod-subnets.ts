/**
 * A cluster's pod subnets, when the operator does not give them: the
 * smallest block per address family that holds every Node's podCIDRs.
 * Kubernetes does not publish the cluster CIDR through its API, so this is
 * a lower bound: nodes added later may get CIDRs outside it, and connect
 * says so. Pure.
 */
import { formatCidr, parseCidr, type Cidr } from '../net/cidr.ts';

export interface DerivedSubnets {
  subnets: string[];
  /** Nodes that had pod CIDRs. */
  nodes: number;
}

const BITS = { 4: 32, 6: 128 } as const;

/** `cidrsPerNode`: each Node's spec.podCIDRs (or [spec.podCIDR]); unparsable entries are skipped. */
export function summarisePodCIDRs(cidrsPerNode: readonly (readonly string[])[]): DerivedSubnets {
  const parsed = cidrsPerNode.map((cidrs) => cidrs.map(parseCidr).flatMap((result) => (result.ok ? [result.cidr] : [])));
  const subnets = ([4, 6] as const).flatMap((family) => {
    const blocks = parsed.flat().filter((cidr) => cidr.family === family);
    return blocks.length === 0 ? [] : [formatCidr(covering(blocks, family))];
  });
  return { subnets, nodes: parsed.filter((cidrs) => cidrs.length > 0).length };
}

/** The longest prefix shared by every block, no longer than the shortest block. */
function covering(blocks: readonly Cidr[], family: 4 | 6): Cidr {
  const bits = BITS[family];
  const [first, ...rest] = blocks as [Cidr, ...Cidr[]];
  let prefixLength = Math.min(...blocks.map((block) => block.prefixLength));
  for (const block of rest) {
    const differing = first.address ^ block.address;
    // The highest differing bit bounds the shared prefix.
    if (differing !== 0n) prefixLength = Math.min(prefixLength, bits - differing.toString(2).length);
  }
  const mask = prefixLength === 0 ? 0n : ((1n << BigInt(prefixLength)) - 1n) << BigInt(bits - prefixLength);
  return { family, address: first.address & mask, prefixLength };
}
