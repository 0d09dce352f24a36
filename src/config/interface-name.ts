/** Linux IFNAMSIZ is 16 bytes including the terminating NUL. */
export const MAX_INTERFACE_NAME_BYTES = 15;

export const IFNAMSIZ_NOTE = `Linux allows ${MAX_INTERFACE_NAME_BYTES} (IFNAMSIZ is 16 including the terminating NUL)`;

const DEFAULT_PREFIX = 'wireguard.';

/** semaphore-wireguard's interface name for a remote cluster. */
export function defaultDeviceName(clusterName: string): string {
  return `${DEFAULT_PREFIX}${clusterName}`;
}

/** The longest cluster name whose default interface name the kernel accepts (5). */
export const MAX_NAME_FOR_DEFAULT_DEVICE = MAX_INTERFACE_NAME_BYTES - DEFAULT_PREFIX.length;

export function interfaceNameBytes(name: string): number {
  return Buffer.byteLength(name, 'utf8');
}

/** Why the kernel would refuse `name` as an interface name (its dev_valid_name), or null. */
export function interfaceNameProblem(name: string): string | null {
  const bytes = interfaceNameBytes(name);
  if (bytes === 0) return 'an interface name must not be empty';
  if (bytes > MAX_INTERFACE_NAME_BYTES) return `'${name}' is ${bytes} bytes; ${IFNAMSIZ_NOTE}`;
  if (name === '.' || name === '..') return `'${name}' is not allowed as an interface name`;
  if (/[/:\s]/.test(name)) return `'${name}' contains '/', ':' or whitespace, which Linux does not allow in interface names`;
  return null;
}
