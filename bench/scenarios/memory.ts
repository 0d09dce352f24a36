import { setTimeout as delay } from 'node:timers/promises';
import type { DaemonProcess } from '../daemon-process.ts';
import { rssBytes } from '../proc.ts';
import { valueOf } from '../prom-text.ts';

/**
 * RSS from /proc, read first so that the scrape cannot inflate it, then V8
 * heap in use from the daemon's own /metrics, and what that scrape cost
 * (at thousands of peers it is a large response, and it moves RSS up: a
 * Prometheus scraping the daemon does the same).
 */
export interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
  scrapeMs: number;
  scrapeBytes: number;
}

export async function sampleMemory(daemon: DaemonProcess, settleSeconds: number): Promise<MemorySample> {
  await delay(settleSeconds * 1000);
  const rss = await rssBytes(daemon.pid);
  const scrape = await daemon.scrape();
  return { rssBytes: rss, heapUsedBytes: valueOf(scrape.samples, 'nodejs_heap_size_used_bytes'), scrapeMs: scrape.ms, scrapeBytes: scrape.bytes };
}
