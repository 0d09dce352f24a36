import type { Runner } from '../process/exec.ts';

/** One address of the host and the interface that holds it. */
export interface HostAddress {
  device: string;
  /** As `ip` prints it: `10.4.0.5`, `fd00::5` (no prefix length, no zone). */
  address: string;
}

interface IpAddressJson {
  ifname?: string;
  addr_info?: { local?: string }[];
}

/** Parses `ip -j address show`. */
export function parseIpAddresses(json: string): HostAddress[] {
  const entries = JSON.parse(json) as IpAddressJson[];
  if (!Array.isArray(entries)) throw new Error('ip -j address show did not print a JSON array');
  return entries.flatMap((entry) =>
    (entry.addr_info ?? []).flatMap((info) => (info.local === undefined || entry.ifname === undefined ? [] : [{ device: entry.ifname, address: info.local }])),
  );
}

const TIMEOUT_MS = 10_000;

/** Every address of the host (or of a namespace, through the runner). */
export async function readHostAddresses(run: Runner, ip = 'ip'): Promise<HostAddress[]> {
  try {
    const { stdout } = await run(ip, ['-j', 'address', 'show'], { timeoutMs: TIMEOUT_MS });
    return parseIpAddresses(stdout);
  } catch (cause) {
    throw new Error("reading this node's addresses (ip -j address show) failed", { cause });
  }
}
