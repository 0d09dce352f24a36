/**
 * The cold-start floor in a host like the daemon's: an empty wireguard-go
 * device already up, then the bare script (bench/floors/list-and-syncconf.ts)
 * timed from its spawn to its exit, so node's own start-up is counted on
 * both sides.
 */
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_KEEPALIVE_SECONDS, DEFAULT_LISTEN_PORT } from '../../src/config/schema.ts';
import { generatePrivateKey } from '../../src/wireguard/keys.ts';
import { DEVICE, ENDPOINT_ANNOTATION, PUBLIC_KEY_ANNOTATION, type RemoteCluster } from '../clusters.ts';
import { withBenchHost, type BenchContext } from '../context.ts';
import { deviceSocket, pollDevice, wgShowDump } from '../device-probe.ts';

const FLOOR_SCRIPT = path.join(import.meta.dirname, '..', 'floors', 'list-and-syncconf.ts');
const DEVICE_READY_TIMEOUT_MS = 10_000;

export interface ColdStartFloor {
  /** Spawn to exit of the bare script. */
  totalMs: number;
  /** The script's own phases: node start-up, list fetch, JSON.parse, config text, `wg syncconf`. */
  phases: { startupMs: number; fetchMs: number; parseMs: number; configMs: number; syncconfMs: number };
  listBytes: number;
}

export async function measureColdStartFloor(context: BenchContext, remote: RemoteCluster): Promise<ColdStartFloor> {
  const expected = remote.nodes.length;
  return withBenchHost(context, async ({ host, directory }) => {
    const wireguard = host.launch('wireguard-go', ['-f', DEVICE], { WG_PROCESS_FOREGROUND: '1' });
    wireguard.stdout?.resume();
    wireguard.stderr?.resume();
    await pollDevice(deviceSocket(host, DEVICE), () => true, DEVICE_READY_TIMEOUT_MS, 5);
    await host.run('ip', ['link', 'set', 'dev', DEVICE, 'up']);

    const privateKeyFile = path.join(directory, 'private.key');
    await writeFile(privateKeyFile, `${generatePrivateKey()}\n`, { mode: 0o600 });
    const jobFile = path.join(directory, 'job.json');
    const { emulator } = remote;
    await writeFile(
      jobFile,
      JSON.stringify({
        apiURL: emulator.url,
        caFile: emulator.caFile,
        tokenFile: emulator.tokenPath,
        device: DEVICE,
        privateKeyFile,
        listenPort: DEFAULT_LISTEN_PORT,
        confFile: path.join(directory, `${DEVICE}.conf`),
        publicKeyAnnotation: PUBLIC_KEY_ANNOTATION,
        endpointAnnotation: ENDPOINT_ANNOTATION,
        keepaliveSeconds: DEFAULT_KEEPALIVE_SECONDS,
      }),
    );

    const started = performance.now();
    const script = host.launch(process.execPath, [FLOOR_SCRIPT, jobFile], {});
    const output: string[] = [];
    const errors: string[] = [];
    createInterface({ input: script.stdout! }).on('line', (line) => output.push(line));
    createInterface({ input: script.stderr! }).on('line', (line) => errors.push(line));
    const [code] = (await once(script, 'exit')) as [number | null];
    const totalMs = performance.now() - started;
    if (code !== 0) throw new Error(`the cold-start floor script exited ${code}: ${errors.slice(-5).join(' | ')}`);
    const report = JSON.parse(output.at(-1) ?? '{}') as ColdStartFloor['phases'] & { peers: number; listBytes: number };

    const dump = await wgShowDump(host, DEVICE);
    if (report.peers !== expected || dump.peers.length !== expected) {
      throw new Error(`the cold-start floor configured ${report.peers} peers (device shows ${dump.peers.length}), expected ${expected}`);
    }
    const { startupMs, fetchMs, parseMs, configMs, syncconfMs } = report;
    return { totalMs, phases: { startupMs, fetchMs, parseMs, configMs, syncconfMs }, listBytes: report.listBytes };
  });
}
