import type { FieldError } from './field-errors.ts';
import type { JsonObject } from './json.ts';
import type { NameRule } from './object-meta.ts';
import { typeMetaPrefix } from './object-record.ts';
import type { FieldReaders } from './selectors.ts';
import type { GroupKind, GroupResource } from './status.ts';
import type { ListStrategies } from './strategic-merge-patch.ts';
import type { Printer } from './tables.ts';

/** The `fieldValidation` query parameter: what to do with fields the schema does not know. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** What a write is about, as a resource's strategy sees it. */
export interface WriteContext {
  /** '' for the main resource. */
  readonly subresource: '' | 'status';
  /** The API version the client wrote through. */
  readonly version: string;
  readonly fieldValidation: FieldValidation;
  /** Collects the response's Warning headers (unknown fields under Warn). */
  readonly warnings: string[];
}

export interface Subresource {
  readonly name: string;
  readonly verbs: readonly string[];
  /** Set when the subresource speaks another kind (serviceaccounts/token: authentication.k8s.io/v1 TokenRequest). */
  readonly kind?: { group: string; version: string; kind: string };
}

/**
 * One resource's rules: its names for discovery, its printer, and its
 * registry strategy (what a create or update may set, what is valid).
 * Strategies are pure: they get the object a client sent (without
 * kind/apiVersion, metadata already namespaced) and return what to store.
 */
export interface ResourceType extends GroupResource {
  /** Served versions, preferred first. */
  readonly versions: readonly string[];
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** What discovery lists for the main resource. */
  readonly verbs: readonly string[];
  readonly subresources: readonly Subresource[];
  /** null: the strategy checks names itself (CustomResourceDefinitions). */
  readonly nameRule: NameRule | null;
  /** Strategic merge patch lists; null: strategic merge patches are refused (custom resources). */
  readonly listStrategies: ListStrategies | null;
  /** Selectable fields beside metadata.name and metadata.namespace. */
  readonly fields: FieldReaders;
  readonly printer: Printer;
  /** Unstructured (custom) resources: list items carry kind/apiVersion; spec and status may be anything. */
  readonly custom: boolean;
  /** Whether an update (PUT) may omit metadata.resourceVersion. */
  readonly allowUnconditionalUpdate: boolean;
  prepareCreate(object: JsonObject, context: WriteContext): JsonObject;
  prepareUpdate(object: JsonObject, old: JsonObject, context: WriteContext): JsonObject;
  /** Problems beyond ObjectMeta's; empty when valid. */
  validate(object: JsonObject, old: JsonObject | null, context: WriteContext): FieldError[];
}

export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

export function groupKindOf(type: ResourceType): GroupKind {
  return { group: type.group, kind: type.kind };
}

export function typeMetaOf(type: ResourceType, version: string): string {
  return typeMetaPrefix(apiVersionOf(type.group, version), type.kind);
}

export function hasSubresource(type: ResourceType, name: string): boolean {
  return type.subresources.some((s) => s.name === name);
}

/** Verbs of a stored resource with every operation, as discovery lists them. */
export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
export const STATUS_SUBRESOURCE: Subresource = { name: 'status', verbs: ['get', 'patch', 'update'] };
