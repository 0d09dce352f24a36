import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { test } from 'node:test';
import { dnsLookup } from '../../src/peering/dns-lookup.ts';

const A = 1;
const AAAA = 28;

/** The names the test server knows: A and AAAA records; unknown names get NXDOMAIN, `silent` ones no answer at all. */
const zone: Record<string, { a?: number[]; aaaa?: number[]; silent?: true }> = {
  'v4.test': { a: [198, 18, 0, 7] },
  'v6.test': { aaaa: [0xfd, 0, ...Array<number>(13).fill(0), 7] },
  'slow.test': { silent: true },
};

/** A DNS server on loopback that answers from `zone`; counts the queries it gets. */
async function dnsServer(): Promise<{ socket: Socket; address: string; queries: string[] }> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (query, peer) => {
    let offset = 12;
    const labels: string[] = [];
    for (let length = query[offset] ?? 0; length > 0; length = query[offset] ?? 0) {
      labels.push(query.subarray(offset + 1, offset + 1 + length).toString('ascii'));
      offset += length + 1;
    }
    const name = labels.join('.').toLowerCase();
    const type = query.readUInt16BE(offset + 1);
    const question = query.subarray(12, offset + 5);
    queries.push(`${name}/${type}`);
    const entry = zone[name];
    if (entry?.silent) return;
    const rdata = type === A ? entry?.a : type === AAAA ? entry?.aaaa : undefined;
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8180 | (entry ? 0 : 3), 2); // response, recursion available; NXDOMAIN for unknown names
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(rdata ? 1 : 0, 6);
    const answer = rdata ? Buffer.from([0xc0, 0x0c, 0, type, 0, 1, 0, 0, 0, 60, 0, rdata.length, ...rdata]) : Buffer.alloc(0);
    socket.send(Buffer.concat([header, question, answer]), peer.port, peer.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { socket, address: `127.0.0.1:${socket.address().port}`, queries };
}

test('dnsLookup: A first, AAAA when the name has no A record, NXDOMAIN as an error', async (t) => {
  const server = await dnsServer();
  t.after(() => server.socket.close());
  const lookup = dnsLookup({ servers: [server.address] });
  const signal = new AbortController().signal;
  assert.equal(await lookup('v4.test', signal), '198.18.0.7');
  assert.equal(await lookup('v6.test', signal), 'fd00::7');
  await assert.rejects(lookup('gone.test', signal), /ENOTFOUND/);
  assert.deepEqual(server.queries, ['v4.test/1', 'v6.test/1', 'v6.test/28', 'gone.test/1']);
});

test('dnsLookup: a server that never answers is abandoned as soon as the signal aborts', async (t) => {
  const server = await dnsServer();
  t.after(() => server.socket.close());
  const lookup = dnsLookup({ servers: [server.address] });
  const abort = new AbortController();
  const started = performance.now();
  const pending = lookup('slow.test', abort.signal);
  setTimeout(() => abort.abort(), 100);
  await assert.rejects(pending, /ECANCELLED|cancel/i);
  const ms = performance.now() - started;
  t.diagnostic(`cancelled after ${ms.toFixed(0)} ms (c-ares alone would give up after 2 tries of 2 s)`);
  assert.ok(ms < 1_900, `took ${ms} ms`);
});
