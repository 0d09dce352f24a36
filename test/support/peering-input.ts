import type { PeeringInput } from '../../src/peering/desired-peers.ts';
import type { Resolution } from '../../src/peering/endpoint-resolver.ts';

/** Hostnames these tests know, with their addresses; any other name fails to resolve. */
export const TEST_HOSTS: Record<string, string> = { 'node-a.c2.example': '198.18.5.5' };

export function testResolve(host: string): Resolution {
  const address = TEST_HOSTS[host];
  return address === undefined ? { state: 'failed', reason: 'unresolvable-endpoint', detail: `ENOTFOUND ${host}` } : { state: 'resolved', address };
}

/** A peering input for tests: the remote's subnets and nodes, with the rest set to what a plain remote has. */
export function peeringInput(input: Pick<PeeringInput, 'podSubnets' | 'nodes'> & Partial<PeeringInput>): PeeringInput {
  return { persistentKeepaliveSeconds: 25, maxNodes: 20_000, ownPublicKey: null, resolve: testResolve, deviceEndpoint: () => null, ...input };
}
