import { z } from 'zod';
import { parseCidr, type Cidr } from '../net/cidr.ts';
import { annotationDomainProblem, clusterNameProblem, namespaceProblem } from './dns-names.ts';
import { parseGoDuration } from './duration.ts';
import { caFingerprint } from './ca-fingerprint.ts';
import { interfaceNameProblem } from './interface-name.ts';
import { showValue, type JsonPath } from './issue.ts';
import { podSubnetProblem } from './pod-subnet.ts';

/**
 * The JSON format of docs/configuration.md (semaphore-wireguard's, plus extensions), field
 * by field. Each field's schema checks and normalises that field alone;
 * rules between fields and between remotes are in `relations.ts`. Messages
 * name the value and the rule; the JSON path is added by the caller.
 */

export const DEFAULT_ANNOTATION_DOMAIN = 'wireguard.semaphore.uw.io';
export const DEFAULT_MTU = 1420;
export const DEFAULT_LISTEN_PORT = 51820;
export const DEFAULT_KEEPALIVE_SECONDS = 25;
/**
 * Four times the 5,000 nodes Kubernetes supports per cluster, above the
 * largest managed clusters (15,000): no real remote reaches it, and a
 * hostile one is stopped at it (docs/configuration.md).
 */
export const DEFAULT_MAX_NODES = 20_000;
/** Where `clusterwire mirror` publishes and mirrors by default (its `-namespace`). */
export const DEFAULT_SLICES_NAMESPACE = 'clusterwire';
/**
 * Where a remote's peers come from (docs/fleet-mode.md): its Nodes, the
 * PeerSlices it publishes for this cluster, or the slices the local
 * `clusterwire mirror` mirrors from it (no remote access on the nodes).
 */
export const REMOTE_SOURCES = ['nodes', 'slices', 'mirror'] as const;
export type RemoteSourceKind = (typeof REMOTE_SOURCES)[number];

const MIN_MTU = 1280; // IPv6 minimum link MTU
const MAX_MTU = 9000; // largest common jumbo frame
const MAX_KEEPALIVE_SECONDS = 65535; // WireGuard carries it in 16 bits
const MIN_RESYNC_MS = 100;
const MAX_MAX_NODES = 100_000; // the node store holds up to twice this (docs/configuration.md)

type FieldResult<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T,>(value: T): FieldResult<T> => ({ ok: true, value });
const fail = (message: string): FieldResult<never> => ({ ok: false, message });
const fromProblem = <T,>(value: T, problem: string | null): FieldResult<T> => (problem === null ? ok(value) : fail(problem));

/** A field whose JSON type is checked by `base` and whose meaning is checked by `parse`. */
function field<I, O>(base: z.ZodType<I>, parse: (value: I) => FieldResult<O>) {
  return base.transform((value, ctx) => {
    const result = parse(value);
    if (result.ok) return result.value;
    ctx.issues.push({ code: 'custom', message: result.message, input: value });
    return z.NEVER;
  });
}

/** An optional string field; "" means unset, as Go's zero value does in semaphore-wireguard configs. */
function optionalText<O>(parse: (value: string) => FieldResult<O>) {
  return field(z.string(), (value) => (value === '' ? ok(undefined) : parse(value))).optional();
}

function integerIn(value: number, min: number, max: number, what: string): FieldResult<number> {
  if (!Number.isInteger(value)) return fail(`${value} is not a whole number (${what} must be ${min}-${max})`);
  if (value < min || value > max) return fail(`${value} is out of range: ${what} must be ${min}-${max}`);
  return ok(value);
}

function url(value: string, protocols: readonly string[], why: string): FieldResult<string> {
  const parsed = URL.parse(value);
  if (parsed === null || parsed.hostname === '') return fail(`${showValue(value)} is not a valid URL`);
  if (!protocols.includes(parsed.protocol)) return fail(`${showValue(value)} must be ${protocols.map((p) => p.slice(0, -1)).join(' or ')}: ${why}`);
  return ok(value);
}

function podSubnet(value: string): FieldResult<Cidr> {
  const parsed = parseCidr(value);
  if (!parsed.ok) return fail(`${showValue(value)} is not a valid CIDR: ${parsed.reason}`);
  return fromProblem(parsed.cidr, podSubnetProblem(parsed.cidr, value));
}

function fingerprint(value: string): FieldResult<string> {
  const normalised = caFingerprint(value);
  return normalised === null
    ? fail(`${showValue(value)} is not a SHA-256 fingerprint: write 64 hex digits, optionally in colon-separated pairs, as \`openssl x509 -noout -fingerprint -sha256\` prints them after '='`)
    : ok(normalised);
}

/** A Go duration string or a number of nanoseconds (how Go's encoding/json writes a Duration). */
function duration(value: unknown): FieldResult<bigint> {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return fail(`${value} is not a whole number of nanoseconds`);
    return value < 0 ? fail(`${value} is negative`) : ok(BigInt(value));
  }
  if (typeof value !== 'string') return fail(`expected a duration like '30s' or a number of nanoseconds, got ${showValue(value)}`);
  const parsed = parseGoDuration(value);
  if (!parsed.ok) return fail(`${showValue(value)} is not a Go duration: ${parsed.reason}`);
  return parsed.nanoseconds < 0n ? fail(`${showValue(value)} is negative`) : ok(parsed.nanoseconds);
}

function keepaliveSeconds(nanoseconds: bigint, shown: unknown): FieldResult<number> {
  if (nanoseconds % 1_000_000_000n !== 0n) return fail(`${showValue(shown)} is not a whole number of seconds (WireGuard keepalive has 1 s resolution)`);
  const seconds = nanoseconds / 1_000_000_000n;
  if (seconds > MAX_KEEPALIVE_SECONDS) return fail(`${showValue(shown)} is out of range: keepalive must be 0-${MAX_KEEPALIVE_SECONDS} s`);
  return ok(Number(seconds));
}

/** null when 0: the global -reconcile-interval applies, as semaphore's 0 disables resync. */
function resyncMs(nanoseconds: bigint, shown: unknown): FieldResult<number | null> {
  if (nanoseconds === 0n) return ok(null);
  const ms = Number(nanoseconds / 1_000_000n);
  if (ms < MIN_RESYNC_MS) return fail(`${showValue(shown)} is too short: use 0s (off) or at least ${MIN_RESYNC_MS}ms`);
  return ok(ms);
}

function sourceKind(value: string): FieldResult<RemoteSourceKind> {
  const kind = REMOTE_SOURCES.find((k) => k === value);
  const names = REMOTE_SOURCES.map((k) => `'${k}'`);
  return kind === undefined ? fail(`${showValue(value)} is not a source: use ${names.slice(0, -1).join(', ')} or ${names.at(-1)}`) : ok(kind);
}

const clusterName = field(z.string(), (value) => fromProblem(value, clusterNameProblem(value)));
const filePath = (value: string) => ok(value);

const localShape = {
  name: clusterName,
  kubeConfigPath: optionalText(filePath),
};

const remoteShape = {
  name: clusterName,
  remoteAPIURL: optionalText((value) => url(value, ['https:'], 'the service account token is sent to it')),
  remoteCAURL: optionalText((value) => url(value, ['https:', 'http:'], 'the CA is fetched from it')),
  remoteCASHA256: optionalText(fingerprint),
  remoteSATokenPath: optionalText(filePath),
  kubeConfigPath: optionalText(filePath),
  podSubnet: optionalText(podSubnet),
  podSubnets: z.array(field(z.string(), podSubnet)).optional(),
  wgDeviceMTU: field(z.number(), (value) => integerIn(value, MIN_MTU, MAX_MTU, 'the MTU')).default(DEFAULT_MTU),
  wgListenPort: field(z.number(), (value) => integerIn(value, 1, 65535, 'a listen port')).default(DEFAULT_LISTEN_PORT),
  resyncPeriod: field(z.unknown(), (value) => {
    const parsed = duration(value);
    return parsed.ok ? resyncMs(parsed.value, value) : parsed;
  }).default(null),
  wgDeviceName: optionalText((value) => fromProblem(value, interfaceNameProblem(value))),
  persistentKeepalive: field(z.unknown(), (value) => {
    const parsed = duration(value);
    return parsed.ok ? keepaliveSeconds(parsed.value, value) : parsed;
  }).default(DEFAULT_KEEPALIVE_SECONDS),
  maxNodes: field(z.number(), (value) => integerIn(value, 1, MAX_MAX_NODES, 'maxNodes')).default(DEFAULT_MAX_NODES),
  source: field(z.string(), (value) => sourceKind(value)).default('nodes'),
  slicesNamespace: optionalText((value) => fromProblem(value, namespaceProblem(value))),
  mirrorNamespace: optionalText((value) => fromProblem(value, namespaceProblem(value))),
};

const rootShape = {
  local: z.strictObject(localShape),
  annotationDomain: field(z.string(), (value) => fromProblem(value, annotationDomainProblem(value))).default(DEFAULT_ANNOTATION_DOMAIN),
  remotes: z.array(z.strictObject(remoteShape)).min(1, { error: 'at least one remote cluster is required' }),
};

/** The whole file: every field and unknown key checked, all problems reported. */
export const clustersConfigSchema = z.strictObject(rootShape);

export type LocalFields = z.output<z.ZodObject<typeof localShape>>;
export type RemoteFields = z.output<z.ZodObject<typeof remoteShape>>;

/**
 * Fields read one by one, so that rules between fields can still be
 * checked on the valid ones when others are broken: `values` holds the
 * fields that parsed (defaults applied), `invalid` the keys that did not.
 */
export interface LenientFields<T> {
  values: Partial<T>;
  invalid: ReadonlySet<keyof T>;
  /** Keys absent from the JSON (their defaults, if any, are in `values`). */
  omitted: ReadonlySet<keyof T>;
}

export interface LenientConfig {
  local: LenientFields<LocalFields>;
  annotationDomain: string | undefined;
  remotes: LenientFields<RemoteFields>[];
}

export function readLeniently(json: unknown): LenientConfig {
  const root = asRecord(json) ?? {};
  const domain = rootShape.annotationDomain.safeParse(root.annotationDomain);
  const remotes = Array.isArray(root.remotes) ? (root.remotes as unknown[]) : [];
  return {
    local: readFields(localShape, root.local),
    annotationDomain: domain.success ? domain.data : undefined,
    remotes: remotes.map((remote) => readFields(remoteShape, remote)),
  };
}

function readFields<S extends Record<string, z.ZodType>>(shape: S, json: unknown): LenientFields<{ [K in keyof S]: z.output<S[K]> }> {
  const values: Record<string, unknown> = {};
  const invalid = new Set<string>();
  const omitted = new Set<string>();
  const raw = asRecord(json);
  for (const [key, schema] of Object.entries(shape)) {
    // Not an object at all: no field is usable, not even a default.
    const parsed = raw === null ? null : schema.safeParse(raw[key]);
    if (parsed?.success) values[key] = parsed.data;
    else invalid.add(key);
    if (raw?.[key] === undefined) omitted.add(key);
  }
  return { values, invalid, omitted } as LenientFields<{ [K in keyof S]: z.output<S[K]> }>;
}

function asRecord(json: unknown): Record<string, unknown> | null {
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : null;
}

/** The keys an object at `path` may have, for "did you mean" suggestions. */
export function knownKeysAt(path: JsonPath): readonly string[] {
  if (path.length === 0) return Object.keys(rootShape);
  if (path[0] === 'local') return Object.keys(localShape);
  if (path[0] === 'remotes') return Object.keys(remoteShape);
  return [];
}
