import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Other spellings of a level: `off` is hclog's (semaphore-wireguard's
 * logger) for no logs at all, pino's `silent`.
 */
export const LOG_LEVEL_ALIASES: Readonly<Record<string, LevelWithSilent>> = { off: 'silent' };

/** The pino level a -log-level value names (any case, as Go's parsers take it), or null. */
export function parseLogLevel(text: string): LevelWithSilent | null {
  const name = text.trim().toLowerCase();
  return LOG_LEVELS.find((level) => level === name) ?? LOG_LEVEL_ALIASES[name] ?? null;
}

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
