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

/**
 * Why `name` cannot be one of our interface names, or null. Stricter than
 * the kernel (its dev_valid_name refuses only '/', ':' and whitespace): the
 * name is written into `ip -batch` lines, where `#` starts a comment (so
 * `eth0#x` would flush eth0's addresses), and into argument lists, where a
 * leading '-' reads as an option.
 */
export function interfaceNameProblem(name: string): string | null {
  const bytes = interfaceNameBytes(name);
  if (bytes === 0) return 'an interface name must not be empty';
  if (bytes > MAX_INTERFACE_NAME_BYTES) return `'${name}' is ${bytes} bytes; ${IFNAMSIZ_NOTE}`;
  if (name === '.' || name === '..') return `'${name}' is not allowed as an interface name`;
  const others = [...new Set(name.replaceAll(/[A-Za-z0-9_.-]/g, ''))];
  if (others.length > 0) {
    const found = others.map((character) => `'${JSON.stringify(character).slice(1, -1)}'`).join(', ');
    return `'${name}' contains ${found}: an interface name may only have letters, digits, '_', '.' and '-'`;
  }
  if (name.startsWith('-')) return `'${name}' starts with '-', which ip would read as an option`;
  return null;
}

/** True for a name `interfaceNameProblem` accepts: safe to write into `ip` commands and batches. */
export function isSafeInterfaceName(name: string): boolean {
  return interfaceNameProblem(name) === null;
}
