import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { health, readiness, type Verdict } from '../peering/readiness.ts';
import type { DaemonView } from './daemon-view.ts';
import { renderDeviceMetrics, type PeerMetricsMode } from './device-metrics.ts';
import { deviceSnapshots } from './device-snapshot.ts';
import { buildStatusReport } from './status-report.ts';
import { registerSourceMetrics } from './source-metrics.ts';
import { registerWatchMetrics } from './watch-metrics.ts';

/**
 * Health, readiness, metrics and status. Request logging is off: probes and
 * scrapes would otherwise write a line every few seconds on every node.
 */
export interface HttpServerOptions {
  /** How long a disconnected watch still counts as ready (docs/http-and-metrics.md: a minute). */
  readyWatchGraceMs?: number;
  /** Which device series /metrics renders (`-peer-metrics`); default `full`. */
  peerMetrics?: PeerMetricsMode;
  now?: () => number;
}

export function buildHttpServer(view: DaemonView, registry: Registry, options: HttpServerOptions = {}): FastifyInstance {
  const now = options.now ?? Date.now;
  const peerMetrics = options.peerMetrics ?? 'full';
  registerWatchMetrics(registry, view);
  registerSourceMetrics(registry, view);
  // /status and /metrics read the devices through one snapshot: never a read per request.
  const snapshot = deviceSnapshots({ devices: () => view.statuses().map((s) => s.device), read: (device) => view.readDevice(device), now });
  const app = Fastify({ logger: false });

  const verdictReply = (verdict: Verdict) => (verdict.ok ? { status: 'ok' } : { status: 'unavailable', remotes: verdict.reasons });

  app.get('/healthz', async (_request, reply) => {
    const verdict = health(view.statuses(), now());
    return reply.code(verdict.ok ? 200 : 503).send(verdictReply(verdict));
  });
  app.get('/readyz', async (_request, reply) => {
    const verdict = readiness(view.statuses(), now(), options.readyWatchGraceMs);
    return reply.code(verdict.ok ? 200 : 503).send(verdictReply(verdict));
  });
  app.get('/metrics', async (_request, reply) => {
    const [registryText, devices] = await Promise.all([registry.metrics(), snapshot()]);
    // A device that cannot be read (being recreated) is left out of this scrape, not fatal to it.
    const readable = [...devices.devices.values()].flatMap((r) => (r.ok ? [r.device] : []));
    // Rendered as the response is written: a 5,000-peer body never sits in memory whole.
    const body = Readable.from(exposition(registryText, renderDeviceMetrics(readable, peerMetrics, devices.readAt / 1000)));
    return reply.type(registry.contentType).send(body);
  });
  app.get('/status', async () => buildStatusReport(view.statuses(), await snapshot(), now()));
  return app;
}

function* exposition(registryText: string, deviceText: Iterable<string>): Generator<string> {
  yield registryText;
  yield* deviceText;
}
