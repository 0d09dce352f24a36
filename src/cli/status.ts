import type { StatusReport } from '../server/status-report.ts';
import type { CommandSpec } from './command-spec.ts';
import { listenAddressFlag } from './daemon-flags.ts';
import { parseBoolean, type FlagSpec, type FlagValueResult } from './flags.ts';
import { ExitCode } from './io.ts';
import type { ListenAddress } from './listen-address.ts';
import { formatStatusPeers, formatStatusSummary } from './status-table.ts';

const REQUEST_TIMEOUT_MS = 5_000;

type OutputFormat = 'text' | 'json';

export const peersFlag: FlagSpec<boolean> = {
  name: 'peers',
  env: null,
  boolean: true,
  valueName: '',
  description: 'also print every peer (node, key, endpoint, allowed IPs, last handshake, transfer) and every skipped node',
  defaultText: 'false',
  parse: parseBoolean,
};

export const outputFlag: FlagSpec<OutputFormat> = {
  name: 'o',
  env: null,
  valueName: 'format',
  description: "text, or json: the daemon's /status as it answered (everything, whatever -peers says)",
  defaultText: 'text',
  parse: (text): FlagValueResult<OutputFormat> => (text === 'text' || text === 'json' ? { ok: true, value: text } : { ok: false, reason: 'must be one of text, json' }),
};

export interface StatusOptions {
  listenAddress: ListenAddress;
  peers: boolean;
  output: OutputFormat;
}

export const statusCommand: CommandSpec<StatusOptions> = {
  summary: "show the running daemon's devices, watches and peers",
  description: "Asks the daemon's /status endpoint (at -listen-address) and prints a summary per remote; -peers adds the peers, -o json prints the JSON.",
  flags: [listenAddressFlag, peersFlag, outputFlag],
  options: (read) => ({ listenAddress: read(listenAddressFlag), peers: read(peersFlag), output: read(outputFlag) }),
  async execute({ listenAddress, peers, output }, io) {
    const url = statusURL(listenAddress);
    let body: string;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.text();
    } catch (error) {
      io.stderr.write(`clusterwire: cannot read ${url}: ${error instanceof Error ? error.message : String(error)} (is the daemon running, with this -listen-address?)\n`);
      return ExitCode.failed;
    }
    if (output === 'json') {
      io.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
      return ExitCode.ok;
    }
    let report: StatusReport;
    try {
      report = JSON.parse(body) as StatusReport;
    } catch (error) {
      io.stderr.write(`clusterwire: ${url} did not answer JSON: ${error instanceof Error ? error.message : String(error)}\n`);
      return ExitCode.failed;
    }
    io.stdout.write((peers ? formatStatusPeers : formatStatusSummary)(report, Date.now()));
    return ExitCode.ok;
  },
};

/** A daemon listening on every interface is asked on loopback. */
export function statusURL({ host, port }: ListenAddress): string {
  const target = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${target.includes(':') ? `[${target}]` : target}:${port}/status`;
}
