/**
 * What wireguard-go's memory grows with: its peak RSS at a number of peers,
 * for the memory sizing table in docs/install.md (with the userspace
 * backend wireguard-go runs in the daemon's container, under its limit).
 *
 * Per count, in a fresh lab host (lab/netns.ts): `wireguard-go -f`, then all
 * peers in one UAPI set, as the daemon's cold start does (a /24 of allowed
 * IPs each, an endpoint, keepalive 25 s, so every peer handshakes; endpoints
 * are routed into the bench's sink, which drops the packets), then `--settle`
 * seconds; VmHWM (peak) and VmRSS from /proc. Needs root.
 *
 *   node scripts/wireguard-go-memory.ts [--peers 0,1000,5000,10000] [--settle 30]
 */
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { addEndpointSink } from '../bench/network.ts';
import { createLabHost } from '../lab/netns.ts';
import { execCommand } from '../src/process/exec.ts';
import { generatePrivateKey, publicKeyOf } from '../src/wireguard/keys.ts';
import { UapiClient } from '../src/wireguard/uapi-client.ts';
import { socketAnswers } from '../src/wireguard/userspace-process.ts';
import type { PeerChange } from '../src/wireguard/types.ts';

const DEVICE = 'wgmem';

function peers(count: number): PeerChange[] {
  return Array.from({ length: count }, (_, i) => ({
    publicKey: publicKeyOf(generatePrivateKey()),
    // In ENDPOINT_SINK_ROUTE (198.19.0.0/16).
    endpoint: `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}:51820`,
    replaceAllowedIPs: [`10.${128 + Math.floor(i / 256)}.${i % 256}.0/24`],
    persistentKeepaliveSeconds: 25,
  }));
}

async function megabytes(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kilobytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peak: kilobytes('VmHWM') / 1024, now: kilobytes('VmRSS') / 1024 };
}

async function measure(count: number, settleSeconds: number): Promise<{ peak: number; now: number }> {
  const host = await createLabHost(`cwmem-${process.pid}`);
  try {
    await addEndpointSink(host);
    const devNull = openSync('/dev/null', 'w');
    const child = host.launch('wireguard-go', ['-f', DEVICE], { WG_PROCESS_FOREGROUND: '1' }, devNull);
    closeSync(devNull);
    const socket = `${host.wireguardSocketDirectory}/${DEVICE}.sock`;
    const deadline = Date.now() + 10_000;
    while (!(await socketAnswers(socket))) {
      if (Date.now() > deadline) throw new Error(`wireguard-go did not open ${socket}`);
      await delay(50);
    }
    await host.run('ip', ['link', 'set', DEVICE, 'up']);
    await new UapiClient(host.wireguardSocketDirectory, 120_000).configure(DEVICE, { privateKey: generatePrivateKey(), listenPort: 51820, peers: peers(count) });
    await delay(settleSeconds * 1000);
    const result = await megabytes(child.pid ?? NaN);
    child.kill('SIGKILL');
    return result;
  } finally {
    await host.destroy();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { peers: { type: 'string', default: '0,1000,5000,10000' }, settle: { type: 'string', default: '30' } } });
  const counts = values.peers.split(',').map(Number);
  const { stdout: version } = await execCommand('wireguard-go', ['--version']);
  console.log(`${version.split('\n')[0] ?? ''}, settled ${values.settle} s\n\n| peers | peak RSS (VmHWM) | RSS | peak per peer over 0 peers |\n|---|---|---|---|`);
  let base: number | null = null;
  for (const count of counts) {
    const { peak, now } = await measure(count, Number(values.settle));
    base ??= count === 0 ? peak : null;
    const perPeer = base !== null && count > 0 ? `${(((peak - base) * 1024) / count).toFixed(1)} KB` : '';
    console.log(`| ${count} | ${peak.toFixed(1)} MB | ${now.toFixed(1)} MB | ${perPeer} |`);
  }
}
