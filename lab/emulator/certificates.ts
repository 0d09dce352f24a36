import { readFile, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { execCommand, type Runner } from '../../src/process/exec.ts';

export interface ServingCertificates {
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
}

/** The server certificate's names: the bind host plus localhost, as clients may use either. */
export function subjectAltNames(host: string): string {
  const names = new Set(['DNS:localhost', 'IP:127.0.0.1']);
  const bindsEverything = host === '0.0.0.0' || host === '::';
  if (!bindsEverything) names.add(isIP(host) === 0 ? `DNS:${host}` : `IP:${host}`);
  return [...names].join(',');
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A fresh CA and a server certificate signed by it, with openssl (node has
 * no X.509 generation). Private keys go to files openssl writes itself;
 * the CA key is deleted once the server certificate is signed.
 */
export async function createServingCertificates(dir: string, host: string, run: Runner = execCommand): Promise<ServingCertificates> {
  const caFile = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  const certFile = join(dir, 'apiserver.crt');
  const keyFile = join(dir, 'apiserver.key');
  try {
    await run('openssl', [
      'req', '-x509', ...EC_KEY, '-keyout', caKey, '-out', caFile, '-days', '3650',
      '-subj', '/CN=clusterwire-emulator-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', [
      'req', '-x509', ...EC_KEY, '-keyout', keyFile, '-out', certFile, '-days', '825',
      '-CA', caFile, '-CAkey', caKey,
      '-subj', '/CN=kube-apiserver',
      '-addext', `subjectAltName=${subjectAltNames(host)}`,
      '-addext', 'extendedKeyUsage=serverAuth',
      '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
      '-addext', 'basicConstraints=critical,CA:FALSE',
    ]);
  } catch (error) {
    throw new Error(`generating the emulator's certificates in ${dir} for ${host}`, { cause: error });
  } finally {
    await rm(caKey, { force: true });
  }
  return { caFile, caPem: await readFile(caFile, 'utf8'), certFile, keyFile };
}
