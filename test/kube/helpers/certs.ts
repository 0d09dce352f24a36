import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execCommand } from '../../../src/process/exec.ts';

/** A self-signed CA made with openssl in `dir`; returns its PEM. */
export async function makeCA(dir: string, name: string): Promise<string> {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  await execCommand('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', crt, '-days', '2', '-subj', `/CN=${name}`,
  ]);
  return readFile(crt, 'utf8');
}
