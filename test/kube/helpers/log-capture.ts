import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../../src/log.ts';

/** A real pino logger whose JSON lines are kept for assertions, parsed and as written (JSON.parse hides a key written twice). */
export function captureLogs(): { logger: Logger; lines: Record<string, unknown>[]; written: string[] } {
  const lines: Record<string, unknown>[] = [];
  const written: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) {
          written.push(line);
          lines.push(JSON.parse(line) as Record<string, unknown>);
        }
      done();
    },
  });
  return { logger: createLogger('debug', sink), lines, written };
}
