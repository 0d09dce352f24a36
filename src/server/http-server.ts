import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { health, readiness, type Verdict } from '../peering/readiness.ts';
import type { DaemonView } from './daemon-view.ts';
import { registerDeviceMetrics } from './device-metrics.ts';
import { buildStatusReport } from './status-report.ts';

/**
 * Health, readiness, metrics and status. Request logging is off: probes and
 * scrapes would otherwise write a line every few seconds on every node.
 */
export interface HttpServerOptions {
  /** How long a disconnected watch still counts as ready (SPEC §4: a minute). */
  readyWatchGraceMs?: number;
  now?: () => number;
}

export function buildHttpServer(view: DaemonView, registry: Registry, options: HttpServerOptions = {}): FastifyInstance {
  const now = options.now ?? Date.now;
  registerDeviceMetrics(registry, view, now);
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
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
  app.get('/status', async () => buildStatusReport(view, now()));
  return app;
}
