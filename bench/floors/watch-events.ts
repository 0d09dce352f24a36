/**
 * Churn transport floor: the least a watcher must do to receive Node
 * events: one HTTPS watch request, UTF-8 decoding, split on newlines,
 * JSON.parse of each line. Node builtins only.
 *
 *   node bench/floors/watch-events.ts API_URL CA_FILE TOKEN_FILE RESOURCE_VERSION
 *
 * Prints `watching` once the response starts; on SIGTERM prints one JSON
 * line with the number of events received and exits.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

const [apiURL, caFile, tokenFile, resourceVersion] = process.argv.slice(2) as [string, string, string, string];
let events = 0;
let kept = 0;
let pending = '';

const req = request(
  new URL(`/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=${resourceVersion}`, apiURL),
  { headers: { authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` }, ca: readFileSync(caFile) },
  (response) => {
    if (response.statusCode !== 200) throw new Error(`watch answered ${response.statusCode}`);
    console.log('watching');
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      const text = pending + chunk;
      let start = 0;
      for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
        const event = JSON.parse(text.slice(start, newline)) as { type: string };
        // Used, so the parse cannot be optimised away.
        kept += event.type.length;
        events++;
        start = newline + 1;
      }
      pending = text.slice(start);
    });
  },
);
req.on('error', (error) => {
  throw error;
});
req.end();

process.once('SIGTERM', () => {
  console.log(JSON.stringify({ events, kept }));
  process.exit(0);
});
