/** Just enough IPv4 arithmetic to hand out distinct addresses and /24s to seeded nodes. */
export interface Ipv4Block {
  base: number;
  prefixLength: number;
}

export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${text}`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw new Error(`not an IPv4 address: ${text}`);
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function parseIpv4Cidr(text: string): Ipv4Block {
  const [address, length, extra] = text.split('/');
  const prefixLength = Number(length);
  if (address === undefined || extra !== undefined || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new Error(`not an IPv4 CIDR: ${text}`);
  }
  const size = 2 ** (32 - prefixLength);
  return { base: parseIpv4(address) - (parseIpv4(address) % size), prefixLength };
}

/** The `index`-th subnet of length `subnetLength` inside `block`. */
export function nthSubnet(block: Ipv4Block, subnetLength: number, index: number): string {
  const count = 2 ** (subnetLength - block.prefixLength);
  if (subnetLength < block.prefixLength || index < 0 || index >= count) {
    throw new Error(`no /${subnetLength} number ${index} in ${formatIpv4(block.base)}/${block.prefixLength}`);
  }
  return `${formatIpv4(block.base + index * 2 ** (32 - subnetLength))}/${subnetLength}`;
}

/** The `index`-th usable host address of `block` (skipping the network address). */
export function nthHost(block: Ipv4Block, index: number): string {
  const size = 2 ** (32 - block.prefixLength);
  if (index < 0 || index + 1 >= size - 1) throw new Error(`no host number ${index} in ${formatIpv4(block.base)}/${block.prefixLength}`);
  return formatIpv4(block.base + index + 1);
}
