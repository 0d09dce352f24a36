import type { TestContext } from 'node:test';

/**
 * For integration tests that need root (namespaces, links, wireguard-go).
 * Outside CI a non-root run skips them with a message; in CI (CI=true) they
 * must run, so not being root fails the test.
 * Returns true when the test must stop here (it was skipped).
 */
export function skipUnlessRoot(t: TestContext): boolean {
  if (process.getuid?.() === 0) return false;
  if (process.env.CI === 'true') {
    throw new Error('this integration test needs root (network namespaces, wireguard-go), and CI=true requires it to run');
  }
  t.skip('needs root for network namespaces and wireguard-go: skipped outside CI');
  return true;
}
