import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The process logger: JSON lines on stdout. Created once in main and handed
 * down; components take `logger.child({ remote })` rather than a global.
 * Secrets are redacted by path as a second line of defence: code must not
 * log them in the first place.
 */
export function createLogger(level: LevelWithSilent, destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino(
    {
      level,
      base: { name: 'clusterwire' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['privateKey', '*.privateKey', 'token', '*.token', 'authorization', '*.authorization'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as pino.DestinationStream,
  );
}
