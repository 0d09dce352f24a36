// Standalone emulator for the lab: one per emulated cluster, typically in
// its own network namespace. Prints one JSON line with its endpoints when
// ready, is driven through the control socket, exits 0 on SIGTERM/SIGINT.
import { createLogger } from '../../src/log.ts';
import { startControlServer } from './control-api.ts';
import { startEmulator } from './emulator.ts';
import { parseMainArgs, USAGE, type MainArgs } from './main-args.ts';

let args: MainArgs;
try {
  args = parseMainArgs(process.argv.slice(2));
} catch (error) {
  console.error(`emulator: ${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}

// stdout carries the ready line only; logs go to stderr.
const logger = createLogger('info', process.stderr).child({ component: 'emulator' });
const emulator = await startEmulator({
  dir: args.dir,
  host: args.host,
  port: args.port,
  caPort: args.caPort,
  logger,
  ...(args.clusterName === undefined ? {} : { clusterName: args.clusterName }),
  ...(args.historyLimit === undefined ? {} : { historyLimit: args.historyLimit }),
  ...(args.bookmarkIntervalMs === undefined ? {} : { bookmarkIntervalMs: args.bookmarkIntervalMs }),
});
if (args.seed > 0) emulator.seedNodes(args.seed);
const control = await startControlServer(emulator, args.controlSocket, logger);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'emulator stopping');
  Promise.all([control.close(), emulator.stop()]).then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'emulator did not stop cleanly');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

const { url, caURL, kubeconfigPath, tokenPath } = emulator;
process.stdout.write(`${JSON.stringify({ url, caURL, kubeconfigPath, tokenPath })}\n`);
logger.info({ url, caURL, controlSocket: args.controlSocket, seeded: args.seed }, 'emulator ready');
