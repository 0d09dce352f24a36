/**
 * What the lab needs from the machine, checked before anything is made, so
 * that a newcomer gets one clear message naming the Debian package to
 * install rather than a failed command deep inside the lab.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export interface RequiredTool {
  command: string;
  /** The Debian package that provides it. */
  debianPackage: string;
  why: string;
}

export const REQUIRED_TOOLS: readonly RequiredTool[] = [
  { command: 'ip', debianPackage: 'iproute2', why: 'namespaces, bridge, veths, routes' },
  { command: 'wg', debianPackage: 'wireguard-tools', why: 'reading WireGuard devices' },
  { command: 'wireguard-go', debianPackage: 'wireguard-go', why: 'userspace WireGuard (no kernel module needed)' },
  { command: 'ping', debianPackage: 'iputils-ping', why: 'pings between pod addresses' },
  { command: 'openssl', debianPackage: 'openssl', why: "the emulated apiservers' certificates" },
  { command: 'nsenter', debianPackage: 'util-linux', why: 'running commands inside a node' },
  { command: 'unshare', debianPackage: 'util-linux', why: "each node's own mount namespace" },
  { command: 'findmnt', debianPackage: 'util-linux', why: 'finding mounts to undo on teardown' },
  { command: 'mount', debianPackage: 'mount', why: "each node's private /run/wireguard" },
  { command: 'umount', debianPackage: 'mount', why: 'teardown' },
];

/** Userspace WireGuard needs the TUN device. */
export const TUN_DEVICE = '/dev/net/tun';

export interface MachineFacts {
  uid: number | undefined;
  /** True when `command` is an executable on PATH. */
  has: (command: string) => boolean;
  tunPresent: boolean;
}

/** Every reason the lab cannot run here, each with what to do about it; empty when it can. */
export function preflightProblems(machine: MachineFacts): string[] {
  const problems: string[] = [];
  if (machine.uid !== 0) problems.push('run it as root: the lab creates network namespaces, a bridge and WireGuard devices (for example: sudo npm run demo)');
  const missing = REQUIRED_TOOLS.filter((tool) => !machine.has(tool.command));
  for (const tool of missing) problems.push(`${tool.command} is missing (${tool.why}): it is in the Debian package ${tool.debianPackage}`);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((tool) => tool.debianPackage))];
    problems.push(`install them with: apt-get install --no-install-recommends ${packages.join(' ')}`);
  }
  if (!machine.tunPresent) problems.push(`${TUN_DEVICE} is missing: userspace WireGuard needs the kernel's TUN driver (modprobe tun)`);
  return problems;
}

/** True when `command` is an executable file in one of the PATH directories. */
export function onPath(command: string, searchPath = process.env.PATH ?? ''): boolean {
  return searchPath
    .split(path.delimiter)
    .filter((directory) => directory !== '')
    .some((directory) => executable(path.join(directory, command)));
}

export function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The facts of this machine, for preflightProblems. */
export function thisMachine(): MachineFacts {
  return { uid: process.getuid?.(), has: (command) => onPath(command), tunPresent: exists(TUN_DEVICE) };
}

function exists(file: string): boolean {
  try {
    accessSync(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}
