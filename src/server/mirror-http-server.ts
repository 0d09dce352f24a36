import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { mirrorHealth, mirrorReadiness, mirrorStatusReport, type MirrorView } from '../mirror/mirror-view.ts';
import type { Verdict } from '../peering/readiness.ts';
import { registerMirrorGauges } from '../mirror/mirror-metrics.ts';

/** Health, readiness, metrics and status of `clusterwire mirror`, as the daemon serves its own (docs/fleet-mode.md). */
export function buildMirrorHttpServer(view: MirrorView, registry: Registry, now: () => number = Date.now): FastifyInstance {
  registerMirrorGauges(registry, view);
  const app = Fastify({ logger: false });
  const reply = (verdict: Verdict) => (verdict.ok ? { status: 'ok' } : { status: 'unavailable', peers: verdict.reasons });

  app.get('/healthz', async (_request, res) => {
    const verdict = mirrorHealth(view.publishers(), now(), undefined, view.mirrored());
    return res.code(verdict.ok ? 200 : 503).send(reply(verdict));
  });
  app.get('/readyz', async (_request, res) => {
    const verdict = mirrorReadiness(view.election(), view.publishers(), view.mirrored());
    return res.code(verdict.ok ? 200 : 503).send(reply(verdict));
  });
  app.get('/metrics', async (_request, res) => {
    const text = await registry.metrics();
    return res.type(registry.contentType).send(text);
  });
  app.get('/status', (_request, res) => res.send(mirrorStatusReport(view, now())));
  return app;
}
