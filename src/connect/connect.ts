/**
 * `clusterwire connect` and `disconnect`: the imperative shell around the
 * plans (grant-plan.ts, access-plan.ts). Reads both clusters, plans, prints,
 * writes (unless a dry run), in three phases: each side grants the other
 * read access; the token controller fills the tokens; each side gets the
 * other's token, kubeconfig and clusters.json entry.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Counter, Registry } from 'prom-client';
import { clusterNameProblem } from '../config/dns-names.ts';
import { DEFAULT_ANNOTATION_DOMAIN } from '../config/schema.ts';
import { createKubeClient } from '../kube/client.ts';
import type { ConnectionSettings } from '../kube/connection-settings.ts';
import { isObject } from '../kube/json-value.ts';
import { kubeconfigPaths, type SelectedContext } from '../kube/kubeconfig.ts';
import { operatorContext } from '../kube/operator-context.ts';
import { configMapNameOf, daemonSetRef, planAccess, planRevokeAccess, tokensSecretRef, type AccessState } from './access-plan.ts';
import { ClusterApi } from './cluster-api.ts';
import { annotationDomainOf, entrySubnets, localNameOf, readConfigDocument, remoteEntryOf } from './clusters-config-edit.ts';
import { filledToken, grantRefs, NotOursError, planGrant, planRevokeGrant, type GrantState } from './grant-plan.ts';
import { CONFIG_KEY, describeRef, grantName, NAMESPACE, ref, tokenSecretName, type KubeObject } from './objects.ts';
import { summarisePodCIDRs } from './pod-subnets.ts';
import { caBundle, type PeerAccess } from './remote-kubeconfig.ts';
import { describeWrite, type Write } from './write.ts';

/** One cluster as the command line names it. */
export interface SideOptions {
  /** `--kubeconfig`/KUBECONFIG text: files separated by ':'. */
  kubeconfig: string;
  /** null: the kubeconfig's current context. */
  context: string | null;
  /** null: the config's local.name, else the context's name. */
  name: string | null;
  /** null: the entry's own, else derived from the Nodes (connect only). */
  podSubnets: string[] | null;
  /** null: the kubeconfig's server (connect only). */
  apiURL: string | null;
}

export interface ConnectOptions {
  sides: [SideOptions, SideOptions];
  dryRun: boolean;
  /** How long to wait for the token controller; default 60 s. */
  tokenTimeoutMs?: number;
}

export interface Output {
  line(text: string): void;
}

interface Side {
  name: string;
  /** `--` or `--to-`: how the command line spells this side's flags, for messages. */
  flagPrefix: string;
  api: ClusterApi;
  selected: SelectedContext;
  settings: ConnectionSettings;
  options: SideOptions;
  daemonSet: KubeObject | null;
  configMap: KubeObject | null;
  tokensSecret: KubeObject | null;
}

const TOKEN_POLL_MS = 250;
const DEFAULT_TOKEN_TIMEOUT_MS = 60_000;

export async function connectClusters(options: ConnectOptions, out: Output): Promise<void> {
  const sides = await openSides(options.sides);
  try {
    const [a, b] = sides;
    const annotationDomain = peeringDomain(a, b);
    out.line(`Connecting ${a.api.label} and ${b.api.label}${options.dryRun ? ': dry run, nothing is written' : ''}.`);
    // Everything that can be refused (names, URLs, pod subnets, the resulting configs) is
    // checked before the first write, with the tokens still unknown.
    const pairs = [];
    for (const [local, peer] of [[a, b], [b, a]] as const) {
      const input = { local: local.name, token: null, podSubnets: await peerPodSubnets(local, peer, out), annotationDomain, access: peerAccess(local, peer, []) };
      onSide(local, () => planAccess(input, accessState(local)));
      pairs.push({ local, peer, input });
    }
    let written = 0;
    const tokens = new Map<Side, { token: string; caPem: string | null } | null>();
    for (const [grantor, peer] of [[b, a], [a, b]] as const) {
      const state = await readGrant(grantor, peer.name);
      const writes = onSide(grantor, () => planGrant(peer.name, state));
      written += await carryOut(grantor, `${grantor.name}: read access to its Nodes for ${peer.name}'s daemons`, writes, options.dryRun, out);
      tokens.set(grantor, options.dryRun ? filledToken(state.tokenSecret) : await waitForToken(grantor, peer.name, options.tokenTimeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS, out));
    }
    const ports: string[] = [];
    for (const { local, peer, input } of pairs) {
      const grant = tokens.get(peer) ?? null;
      const caPems = caBundle(await kubeconfigCA(peer.settings), grant?.caPem ?? null, peer.options.apiURL !== null);
      const plan = onSide(local, () => planAccess({ ...input, token: grant?.token ?? null, access: peerAccess(local, peer, caPems) }, accessState(local)));
      written += await carryOut(local, `${local.name}: its daemons' access to ${peer.name}`, plan.writes, options.dryRun, out, plan.notes);
      ports.push(`UDP ${String(plan.entry.wgListenPort)} on ${local.name}'s nodes from ${peer.name}'s nodes`);
    }
    if (options.dryRun) out.line(`Dry run: ${written} write${written === 1 ? '' : 's'} planned, nothing written.`);
    else if (written === 0) out.line(`Nothing to change: ${a.name} and ${b.name} are connected.`);
    else out.line(`Connected ${a.name} and ${b.name} (${written} write${written === 1 ? '' : 's'}).`);
    out.line(`WireGuard needs ${ports.join(', and ')}.`);
  } finally {
    for (const side of sides) side.api.close();
  }
}

export async function disconnectClusters(options: ConnectOptions, out: Output): Promise<void> {
  const sides = await openSides(options.sides);
  try {
    const [a, b] = sides;
    out.line(`Disconnecting ${a.api.label} and ${b.api.label}${options.dryRun ? ': dry run, nothing is written' : ''}.`);
    let written = 0;
    // The daemons' side first: they stop using the peer before its grant goes.
    for (const [local, peer] of [[a, b], [b, a]] as const) {
      const plan = onSide(local, () => planRevokeAccess(local.name, peer.name, accessState(local)));
      written += await carryOut(local, `${local.name}: its daemons' access to ${peer.name}`, plan.writes, options.dryRun, out, plan.notes);
    }
    for (const [grantor, peer] of [[b, a], [a, b]] as const) {
      const plan = planRevokeGrant(peer.name, await readGrant(grantor, peer.name));
      const notes = plan.kept.map((what) => `kept ${what}`);
      if (plan.writes.length > 0) notes.push(`kept Namespace ${NAMESPACE}: the daemon and other peers' grants live there`);
      written += await carryOut(grantor, `${grantor.name}: read access for ${peer.name}'s daemons`, plan.writes, options.dryRun, out, notes);
    }
    if (options.dryRun) out.line(`Dry run: ${written} write${written === 1 ? '' : 's'} planned, nothing written.`);
    else if (written === 0) out.line(`Nothing to change: ${a.name} and ${b.name} are not connected by clusterwire connect.`);
    else out.line(`Disconnected ${a.name} and ${b.name} (${written} write${written === 1 ? '' : 's'}). The nodes' WireGuard links go when their daemons restart with the new config, or with clusterwire cleanup (docs/install.md#uninstall).`);
  } finally {
    for (const side of sides) side.api.close();
  }
}

async function openSides(options: readonly [SideOptions, SideOptions]): Promise<[Side, Side]> {
  const opened: Side[] = [];
  try {
    for (const [i, side] of options.entries()) opened.push(await openSide(side, i === 0 ? '--' : '--to-'));
    const [a, b] = opened as [Side, Side];
    if (a.name === b.name) throw new Error(`both sides are named ${a.name} (${a.api.label}; ${b.api.label}): a cluster cannot peer with itself; give --name or --to-name`);
    return [a, b];
  } catch (error) {
    for (const side of opened) side.api.close();
    throw error;
  }
}

/** Connects to one side and reads its DaemonSet, clusters config and tokens Secret; the name comes from the config, the flag or the context. */
async function openSide(options: SideOptions, flagPrefix: string): Promise<Side> {
  const { selected, settings } = await operatorContext(kubeconfigPaths(options.kubeconfig), options.context);
  const label = `context ${selected.context}`;
  const requests = new Counter({ name: 'requests', help: 'apiserver requests of connect', labelNames: ['host', 'code', 'method'], registers: [new Registry()] });
  const api = new ClusterApi(label, createKubeClient({ cluster: selected.context, settings, requests }));
  try {
    const daemonSet = await api.get(daemonSetRef());
    const configRef = ref('ConfigMap', configMapNameOf(daemonSet), NAMESPACE);
    const configMap = await api.get(configRef);
    const text = isObject(configMap?.data) && typeof configMap.data[CONFIG_KEY] === 'string' ? configMap.data[CONFIG_KEY] : null;
    const configured = localNameOf(readConfigDocument(text, `${describeRef(configRef)} (${CONFIG_KEY}) in ${label}`));
    if (configured !== null && options.name !== null && configured !== options.name) {
      throw new Error(`${label}: its ${describeRef(configRef)} says local.name is ${configured}, not ${options.name} (${flagPrefix}name)`);
    }
    const name = configured ?? options.name ?? selected.context;
    const problem = clusterNameProblem(name);
    if (problem !== null) throw new Error(`${label}: cluster name ${JSON.stringify(name)}: ${problem}; give another with ${flagPrefix}name`);
    api.label = `${name} (${label})`;
    const tokensSecret = await api.get(tokensSecretRef());
    return { name, flagPrefix, api, selected, settings, options, daemonSet, configMap, tokensSecret };
  } catch (error) {
    api.close();
    throw error;
  }
}

/** A plan's refusal, with the side it concerns (a config error names its ConfigMap and cluster already). */
function onSide<T>(side: Side, plan: () => T): T {
  try {
    return plan();
  } catch (error) {
    if (!(error instanceof NotOursError)) throw error;
    throw new Error(`${side.api.label}: ${error.message}`, { cause: error });
  }
}

/**
 * Each side reads the other's annotations under its own domain, so both
 * must use the same: that of the configs that exist (a new config gets it).
 */
function peeringDomain(a: Side, b: Side): string {
  const existing = [a, b].flatMap((side) => {
    const text = configTextOf(side);
    return text === null ? [] : [{ side, domain: annotationDomainOf(readConfigDocument(text, side.api.label)) }];
  });
  const [first, second] = existing;
  if (first && second && first.domain !== second.domain) {
    throw new Error(`${first.side.api.label} uses annotationDomain ${first.domain} and ${second.side.api.label} ${second.domain}: peered clusters must use the same`);
  }
  return first?.domain ?? DEFAULT_ANNOTATION_DOMAIN;
}

function configTextOf(side: Side): string | null {
  const text = side.configMap?.data ? (side.configMap.data as Record<string, unknown>)[CONFIG_KEY] : undefined;
  return typeof text === 'string' ? text : null;
}

function accessState(side: Side): AccessState {
  return { daemonSet: side.daemonSet, configMap: side.configMap, tokensSecret: side.tokensSecret };
}

async function readGrant(side: Side, peer: string): Promise<GrantState> {
  const refs = grantRefs(peer);
  return {
    namespace: await side.api.get(refs.namespace),
    serviceAccount: await side.api.get(refs.serviceAccount),
    clusterRole: await side.api.get(refs.clusterRole),
    binding: await side.api.get(refs.binding),
    tokenSecret: await side.api.get(refs.tokenSecret),
  };
}

/** Prints the section, then each write as it is done (or would be). Returns the number of writes. */
async function carryOut(side: Side, title: string, writes: readonly Write[], dryRun: boolean, out: Output, notes: readonly string[] = []): Promise<number> {
  out.line(writes.length === 0 ? `${title}: up to date` : `${title}:`);
  for (const write of writes) {
    if (!dryRun) await side.api.apply(write);
    for (const line of describeWrite(write, dryRun)) out.line(`  ${line}`);
  }
  for (const note of notes) out.line(`  note: ${note}`);
  return writes.length;
}

async function waitForToken(side: Side, peer: string, timeoutMs: number, out: Output): Promise<{ token: string; caPem: string | null }> {
  const secretRef = ref('Secret', tokenSecretName(peer), NAMESPACE);
  const deadline = Date.now() + timeoutMs;
  for (let first = true; ; first = false) {
    const filled = filledToken(await side.api.get(secretRef));
    if (filled !== null) return filled;
    if (first) out.line(`  waiting for the token controller to fill ${describeRef(secretRef)}`);
    if (Date.now() >= deadline) {
      throw new Error(`${side.api.label}: ${describeRef(secretRef)} has no data.token after ${timeoutMs / 1000} s: is the token controller (kube-controller-manager) running?`);
    }
    await delay(TOKEN_POLL_MS);
  }
}

/**
 * The peer's pod subnets for `local`'s entry: given on the command line,
 * else the entry's own (a second run keeps them even when nodes were added
 * since), else derived from the peer's Nodes.
 */
async function peerPodSubnets(local: Side, peer: Side, out: Output): Promise<string[] | null> {
  if (peer.options.podSubnets !== null) return peer.options.podSubnets;
  const entry = remoteEntryOf(readConfigDocument(configTextOf(local), `${local.name}'s ${CONFIG_KEY}`), peer.name);
  if (entrySubnets(entry).length > 0) return null;
  const derived = summarisePodCIDRs(await peer.api.nodePodCIDRs());
  if (derived.subnets.length === 0) {
    throw new Error(`${peer.api.label}: no Node has spec.podCIDRs, so its pod subnets cannot be derived: give them with ${peer.flagPrefix}pod-subnets`);
  }
  out.line(
    `${peer.name}: pod subnets ${derived.subnets.join(', ')}, the smallest block${derived.subnets.length === 1 ? '' : 's'} holding the podCIDRs of its ${derived.nodes} Node${derived.nodes === 1 ? '' : 's'}. ` +
      `Nodes added later outside ${derived.subnets.length === 1 ? 'it' : 'them'} would not be peered: give the cluster's pod CIDR (kube-controller-manager --cluster-cidr) to be sure.`,
  );
  return derived.subnets;
}

function peerAccess(local: Side, peer: Side, caPems: string[]): PeerAccess {
  return { peer: peer.name, user: grantName(local.name), server: peerServer(peer, local), tlsServerName: peer.selected.cluster.tlsServerName ?? null, caPems };
}

/** The address `local`'s nodes use for the peer's apiserver: the flag, else the kubeconfig's, which must not be loopback. */
function peerServer(peer: Side, local: Side): string {
  if (peer.options.apiURL !== null) return peer.options.apiURL;
  const server = peer.settings.server;
  const host = new URL(server).hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
  if (loopback) {
    throw new Error(
      `${peer.api.label}: its API URL ${server} is a loopback address, which ${local.name}'s nodes cannot reach: ` +
        `give the address they reach ${peer.name}'s apiserver at with ${peer.flagPrefix}api-url`,
    );
  }
  return server;
}

async function kubeconfigCA(settings: ConnectionSettings): Promise<string | null> {
  if (settings.ca.kind === 'inline') return settings.ca.pem;
  if (settings.ca.kind === 'file') return readFile(settings.ca.path, 'utf8');
  return null;
}
