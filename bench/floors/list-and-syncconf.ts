/**
 * Cold-start floor: the least work that gets a cluster's nodes onto a
 * WireGuard device. One GET of the whole Node list, JSON.parse, pick the
 * two annotations and the pod CIDR of each node, one `wg syncconf`.
 * Bare on purpose: node builtins only, no validation, no paging.
 *
 *   node bench/floors/list-and-syncconf.ts JOB.json
 *
 * Prints one JSON line of phase timings (ms) on stdout.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';

interface Job {
  apiURL: string;
  caFile: string;
  tokenFile: string;
  device: string;
  privateKeyFile: string;
  listenPort: number;
  confFile: string;
  publicKeyAnnotation: string;
  endpointAnnotation: string;
  keepaliveSeconds: number;
}

interface NodeItem {
  metadata: { annotations?: Record<string, string> };
  spec: { podCIDR?: string };
}

const started = performance.now();
const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as Job;

const body = await new Promise<string>((resolve, reject) => {
  const req = request(
    new URL('/api/v1/nodes', job.apiURL),
    { headers: { authorization: `Bearer ${readFileSync(job.tokenFile, 'utf8').trim()}` }, ca: readFileSync(job.caFile) },
    (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`list answered ${response.statusCode}`))));
      response.on('error', reject);
    },
  );
  req.on('error', reject);
  req.end();
});
const fetched = performance.now();
const list = JSON.parse(body) as { items: NodeItem[] };
const parsed = performance.now();

const lines = ['[Interface]', `PrivateKey = ${readFileSync(job.privateKeyFile, 'utf8').trim()}`, `ListenPort = ${job.listenPort}`];
let peers = 0;
for (const item of list.items) {
  const annotations = item.metadata.annotations ?? {};
  const key = annotations[job.publicKeyAnnotation];
  const endpoint = annotations[job.endpointAnnotation];
  if (key === undefined || endpoint === undefined || item.spec.podCIDR === undefined) continue;
  lines.push('[Peer]', `PublicKey = ${key}`, `Endpoint = ${endpoint}`, `AllowedIPs = ${item.spec.podCIDR}`, `PersistentKeepalive = ${job.keepaliveSeconds}`);
  peers++;
}
writeFileSync(job.confFile, `${lines.join('\n')}\n`, { mode: 0o600 });
const configured = performance.now();

await new Promise<void>((resolve, reject) => {
  execFile('wg', ['syncconf', job.device, job.confFile], { timeout: 120_000 }, (error, _stdout, stderr) =>
    error ? reject(new Error(`wg syncconf failed: ${stderr}`, { cause: error })) : resolve(),
  );
});
const synced = performance.now();

console.log(
  JSON.stringify({
    startupMs: started,
    fetchMs: fetched - started,
    parseMs: parsed - fetched,
    configMs: configured - parsed,
    syncconfMs: synced - configured,
    peers,
    listBytes: body.length,
  }),
);
