import type { StatusReport } from '../server/status-report.ts';
import type { CommandSpec } from './command-spec.ts';
import { listenAddressFlag } from './daemon-flags.ts';
import { ExitCode } from './io.ts';
import type { ListenAddress } from './listen-address.ts';
import { formatStatusReport } from './status-table.ts';

const REQUEST_TIMEOUT_MS = 5_000;

export const statusCommand: CommandSpec<{ listenAddress: ListenAddress }> = {
  summary: "show the running daemon's devices, watches and peers",
  description: "Asks the daemon's /status endpoint (at -listen-address) and prints it as tables.",
  flags: [listenAddressFlag],
  options: (read) => ({ listenAddress: read(listenAddressFlag) }),
  async execute({ listenAddress }, io) {
    const url = statusURL(listenAddress);
    let report: StatusReport;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      report = (await response.json()) as StatusReport;
    } catch (error) {
      io.stderr.write(`clusterwire: cannot read ${url}: ${error instanceof Error ? error.message : String(error)} (is the daemon running, with this -listen-address?)\n`);
      return ExitCode.failed;
    }
    io.stdout.write(formatStatusReport(report, Date.now()));
    return ExitCode.ok;
  },
};

/** A daemon listening on every interface is asked on loopback. */
export function statusURL({ host, port }: ListenAddress): string {
  const target = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${target.includes(':') ? `[${target}]` : target}:${port}/status`;
}
