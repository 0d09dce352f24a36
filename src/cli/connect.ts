import { ClustersConfigError } from '../config/issue.ts';
import { connectClusters, disconnectClusters, type ConnectOptions } from '../connect/connect.ts';
import type { CommandSpec } from './command-spec.ts';
import { apiURLFlag, dryRunFlag, podSubnetsFlag, readSides, sideFlags, toApiURLFlag, toPodSubnetsFlag } from './connect-flags.ts';
import { ExitCode, type CliIO } from './io.ts';

export const connectCommand: CommandSpec<ConnectOptions> = {
  summary: 'connect two clusters: read access, tokens and clusters config on both sides',
  description: [
    'Connects two clusters given as kubeconfig contexts, both ways:',
    "  - on each, a ServiceAccount clusterwire-remote-<other>, a ClusterRole and binding to get, list and watch Nodes,",
    '    and a long-lived token Secret clusterwire-remote-<other>-token (namespace clusterwire);',
    "  - into each, the other's token and a kubeconfig (its API URL and CA) in Secret clusterwire-remote-tokens,",
    "    the other's entry in clusters.json of the daemon's ConfigMap (other entries and keys kept; validated first),",
    '    and a restart of DaemonSet clusterwire when that config changed.',
    'Writes only what differs: a second run writes nothing. Objects it makes are labelled',
    'app.kubernetes.io/managed-by=clusterwire-connect, so that disconnect removes those and nothing else.',
    '',
    'Example: clusterwire connect --context c1 --to-context c2 --dry-run',
  ].join('\n'),
  flags: [...sideFlags, podSubnetsFlag, toPodSubnetsFlag, apiURLFlag, toApiURLFlag, dryRunFlag],
  options: (read) => ({ sides: readSides(read, true), dryRun: read(dryRunFlag) }),
  execute: (options, io) => reported(() => connectClusters(options, lines(io)), io),
};

export const disconnectCommand: CommandSpec<ConnectOptions> = {
  summary: 'undo connect: remove what it made and wrote on both sides',
  description: [
    'Removes what clusterwire connect made for these two clusters and nothing else: the other',
    "side's entry in clusters.json and its keys in clusterwire-remote-tokens (when connect wrote them), and",
    'the ServiceAccount, ClusterRole, binding and token Secret connect made for the other side. The namespace stays.',
    '',
    'Example: clusterwire disconnect --context c1 --to-context c2',
  ].join('\n'),
  flags: [...sideFlags, dryRunFlag],
  options: (read) => ({ sides: readSides(read, false), dryRun: read(dryRunFlag) }),
  execute: (options, io) => reported(() => disconnectClusters(options, lines(io)), io),
};

function lines(io: CliIO) {
  return { line: (text: string) => io.stdout.write(`${text}\n`) };
}

/** Expected failures (an API call, an object that is not connect's, a context) are one message; a bad config lists its problems. */
async function reported(run: () => Promise<void>, io: CliIO): Promise<number> {
  try {
    await run();
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof ClustersConfigError || !(error instanceof Error) || isBug(error)) throw error;
    io.stderr.write(`clusterwire: ${error.message}\n`);
    return ExitCode.failed;
  }
}

/** JavaScript's own errors are bugs here: printed in full by the caller. */
function isBug(error: Error): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError || error instanceof SyntaxError;
}
