import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../../lab/emulator/emulator.ts';
import { connectionSettings, createKubeClient, type ClusterAccess, type KubeClient } from '../../../src/kube/client.ts';
import { createMetrics, type Metrics } from '../../../src/metrics.ts';

/** An emulated apiserver on loopback, stopped and its directory removed when the test ends. */
export async function emulatorFor(t: TestContext, options: Partial<EmulatorOptions> = {}): Promise<{ emulator: Emulator; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), `cw-kube-${process.pid}-`));
  const emulator = await startEmulator({ dir: join(dir, 'emulator'), ...options });
  t.after(async () => {
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { emulator, dir };
}

/** A real client (node:https, real TLS) for `access`, with its own metrics; `now` drives the CA re-fetch rate limit. */
export function clientFor(t: TestContext, access: ClusterAccess, cluster = 'c2', now?: () => number): { client: KubeClient; metrics: Metrics } {
  const metrics = createMetrics(new Registry());
  const client = createKubeClient({ cluster, settings: connectionSettings(access), requests: metrics.kubeHttpRequests, now });
  t.after(() => client.close());
  return { client, metrics };
}

/** `semaphore_wg_kube_http_request_total` as "METHOD code" → count. */
export async function requestCounts(metrics: Metrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.kubeHttpRequests.get()).values) out[`${v.labels.method} ${v.labels.code}`] = v.value;
  return out;
}
