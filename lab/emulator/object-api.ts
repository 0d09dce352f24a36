import { terminatingStatus } from './crd-type.ts';
import { fieldErrors, type FieldError } from './field-errors.ts';
import { isJsonObject, objectAt, type JsonObject, type JsonValue, text } from './json.ts';
import {
  decodeObject,
  generatedName,
  objectMetaErrors,
  objectName,
  objectNamespace,
  orderedMetadata,
  requestedResourceVersion,
  timestamp,
} from './object-meta.ts';
import type { ObjectRecord } from './object-record.ts';
import { applyPatch, type PatchType } from './patch.ts';
import type { Registry, Resource } from './registry.ts';
import { apiVersionOf, groupKindOf, type FieldValidation, type ResourceType, type WriteContext } from './resource-type.ts';
import type { ObjectPredicate } from './selectors.ts';
import { errors } from './status.ts';

/**
 * The generic registry between a decoded request and storage, for every
 * resource: namespaces and names, generateName, the resource's strategy,
 * ObjectMeta and resource validation (422), namespace admission,
 * preconditions, finalizers, and cascades (a namespace's contents, a
 * CRD's custom resources). Both the HTTP API and the in-process methods
 * write through it. Writes queue their events; once the outermost write
 * is done the reactor (the emulated controllers) sees each, in order, and
 * may write in turn.
 */

export interface WriteOptions {
  /** Default 'Warn', as kube-apiserver since 1.27. */
  fieldValidation?: FieldValidation;
  /** Collects Warning headers. */
  warnings?: string[];
  /**
   * In-process only: store the object without validating it, as a broken or
   * hostile apiserver would serve it (the daemon treats every remote as untrusted).
   */
  unchecked?: boolean;
}

/** The part of an object an update may change: the main resource, its status, or (in-process control writes) all of it. */
export type WriteScope = '' | 'status' | 'whole';

export interface WriteEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: Resource;
  record: ObjectRecord;
  previous: ObjectRecord | null;
}

export type Reactor = (event: WriteEvent) => void;

export interface DeleteOptions {
  uid?: string;
  resourceVersion?: number;
}

export interface DeleteResult {
  /** The object as last stored (gone, or marked for deletion while finalizers remain). */
  record: ObjectRecord;
  /** false while finalizers hold the object (the response is then the object itself). */
  gone: boolean;
}

/** Namespaces kube-apiserver's NamespaceLifecycle admission refuses to delete. */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
/** ObjectMeta's fields: others are unknown (dropped, and reported under Warn/Strict). */
const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);
/** Set by the server: what a client sends there is ignored. */
const SERVER_SET_FIELDS = ['selfLink', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'managedFields'];

export class ObjectApi {
  private readonly registry: Registry;
  private readonly now: () => number;
  private reactor: Reactor | null = null;
  private readonly pending: WriteEvent[] = [];
  private depth = 0;
  private draining = false;

  constructor(registry: Registry, now: () => number) {
    this.registry = registry;
    this.now = now;
  }

  setReactor(reactor: Reactor): void {
    this.reactor = reactor;
  }

  create(resource: Resource, version: string, namespace: string, body: JsonValue, options: WriteOptions = {}): ObjectRecord {
    return this.write(() => {
      const { type, store } = resource;
      const context = this.context(version, '', options);
      let object = this.decode(type, version, body, context);
      object = withNamespace(type, namespace, object);
      const metadata = { ...objectAt(object, 'metadata') };
      for (const field of [...SERVER_SET_FIELDS, 'uid']) delete metadata[field];
      if ((metadata.name === undefined || metadata.name === '') && typeof metadata.generateName === 'string' && metadata.generateName !== '') {
        metadata.name = generatedName(metadata.generateName);
      }
      object = type.prepareCreate({ ...object, metadata }, context);
      if (options.unchecked !== true) this.check(type, object, null, context);
      if (type.namespaced) this.admitNamespace(type, objectNamespace(object), objectName(object));
      const record = store.create(object);
      this.pending.push({ type: 'ADDED', resource, record, previous: null });
      return record;
    });
  }

  /** PUT: `body` replaces the object (within `scope`). */
  update(resource: Resource, version: string, namespace: string, name: string, body: JsonValue, scope: WriteScope, options: WriteOptions = {}): ObjectRecord {
    return this.write(() => {
      const context = this.context(version, scope === 'status' ? 'status' : '', options);
      const object = withNamespace(resource.type, namespace, this.decode(resource.type, version, body, context));
      return this.replace(resource, object, name, scope, context, false);
    });
  }

  patch(
    resource: Resource,
    version: string,
    namespace: string,
    name: string,
    patchType: PatchType,
    patch: JsonValue,
    scope: WriteScope,
    options: WriteOptions = {},
  ): ObjectRecord {
    return this.write(() => {
      const { type, store } = resource;
      const old = store.get(namespace, name);
      if (old === undefined) throw errors.notFound(type, name);
      const context = this.context(version, scope === 'status' ? 'status' : '', options);
      const wire: JsonObject = { apiVersion: apiVersionOf(type.group, version), kind: type.kind, ...old.object };
      const patched = applyPatch(patchType, wire, patch, type.listStrategies ?? {});
      const object = withNamespace(type, namespace, this.decode(type, version, patched, context));
      return this.replace(resource, object, name, scope, context, true);
    });
  }

  delete(resource: Resource, namespace: string, name: string, preconditions: DeleteOptions = {}): DeleteResult {
    return this.write(() => this.remove(resource, namespace, name, preconditions));
  }

  /** DELETE on a collection: every selected object, one by one. */
  deleteCollection(resource: Resource, namespace: string, predicate: ObjectPredicate | null): ObjectRecord[] {
    return this.write(() => {
      const chosen = resource.store.list(namespace).filter((record) => predicate === null || predicate(record.object));
      return chosen.map((record) => this.remove(resource, record.namespace, record.name, {}).record);
    });
  }

  private context(version: string, subresource: '' | 'status', options: WriteOptions): WriteContext {
    return { subresource, version, fieldValidation: options.fieldValidation ?? 'Warn', warnings: options.warnings ?? [] };
  }

  /** decodeObject, plus what typed decoding does: unknown ObjectMeta fields dropped, spec and status of built-in kinds objects. */
  private decode(type: ResourceType, version: string, body: JsonValue, context: WriteContext): JsonObject {
    const object = decodeObject(body, apiVersionOf(type.group, version), type.kind);
    if (!type.custom) {
      for (const part of ['spec', 'status']) {
        if (object[part] !== undefined && object[part] !== null && !isJsonObject(object[part])) {
          throw errors.badRequest(`json: cannot unmarshal into Go struct field ${type.kind}.${part}`);
        }
      }
    }
    const metadata = objectAt(object, 'metadata');
    const unknown = Object.keys(metadata).filter((key) => !OBJECT_META_FIELDS.has(key));
    if (unknown.length === 0) return object;
    const messages = unknown.map((key) => `unknown field "metadata.${key}"`);
    if (context.fieldValidation === 'Strict') throw errors.badRequest(`strict decoding error: ${messages.join(', ')}`);
    if (context.fieldValidation === 'Warn') context.warnings.push(...messages);
    const known = Object.fromEntries(Object.entries(metadata).filter(([key]) => OBJECT_META_FIELDS.has(key)));
    return { ...object, metadata: known };
  }

  /** ObjectMeta and resource validation together: one 422 listing every problem. */
  private check(type: ResourceType, object: JsonObject, old: JsonObject | null, context: WriteContext): void {
    const problems: FieldError[] = [...objectMetaErrors(object, type.nameRule), ...type.validate(object, old, context)];
    if (problems.length > 0) throw errors.invalid(groupKindOf(type), objectName(object), problems);
  }

  /** NamespaceLifecycle: namespaced objects go into existing namespaces that are not being deleted. */
  private admitNamespace(type: ResourceType, namespace: string, name: string): void {
    const namespaces = this.registry.byResource('', 'namespaces');
    const found = namespaces?.store.get('', namespace);
    if (found === undefined) throw errors.notFound({ group: '', resource: 'namespaces' }, namespace);
    if (objectAt(found.object, 'status').phase === 'Terminating') {
      throw errors.forbiddenResource(type, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  private replace(resource: Resource, sent: JsonObject, name: string, scope: WriteScope, context: WriteContext, isPatch: boolean): ObjectRecord {
    const { type, store } = resource;
    const inBody = objectName(sent);
    if (inBody !== name) throw errors.badRequest(`the name of the object (${inBody}) does not match the name on the URL (${name})`);
    const namespace = objectNamespace(sent);
    const old = store.get(namespace, name);
    if (old === undefined) throw errors.notFound(type, name);
    if (!isPatch && scope !== 'whole' && !type.allowUnconditionalUpdate && requestedResourceVersion(sent) === null) {
      throw errors.invalid(groupKindOf(type), name, [fieldErrors.invalid('metadata.resourceVersion', '0x0', 'must be specified for an update')]);
    }
    const sentUid = objectAt(sent, 'metadata').uid;
    if (typeof sentUid === 'string' && sentUid !== '' && sentUid !== old.uid) {
      throw errors.invalid(groupKindOf(type), name, [fieldErrors.invalid('metadata.uid', sentUid, 'field is immutable')]);
    }
    // What the server owns comes from the stored object.
    const oldMetadata = objectAt(old.object, 'metadata');
    const metadata: JsonObject = { ...objectAt(sent, 'metadata') };
    for (const field of SERVER_SET_FIELDS) {
      if (oldMetadata[field] === undefined) delete metadata[field];
      else metadata[field] = oldMetadata[field];
    }
    let object: JsonObject = { ...sent, metadata };
    if (scope !== 'whole') object = type.prepareUpdate(object, old.object, context);
    this.check(type, object, old.object, context);
    const record = store.update(namespace, name, object);
    if (record === old) return old;
    this.pending.push({ type: 'MODIFIED', resource, record, previous: old });
    return this.finalizeIfDone(resource, record);
  }

  /** An object marked for deletion goes once its last finalizer is removed. */
  private finalizeIfDone(resource: Resource, record: ObjectRecord): ObjectRecord {
    const metadata = objectAt(record.object, 'metadata');
    const finalizers = Array.isArray(metadata.finalizers) ? metadata.finalizers : [];
    if (metadata.deletionTimestamp === undefined || finalizers.length > 0) return record;
    const gone = resource.store.delete(record.namespace, record.name);
    this.pending.push({ type: 'DELETED', resource, record: gone, previous: record });
    return gone;
  }

  private remove(resource: Resource, namespace: string, name: string, preconditions: DeleteOptions): DeleteResult {
    const { type, store } = resource;
    const old = store.get(namespace, name);
    if (old === undefined) throw errors.notFound(type, name);
    if (preconditions.uid !== undefined && preconditions.uid !== old.uid) {
      throw errors.conflict(type, name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${old.uid}`);
    }
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== old.resourceVersion) {
      throw errors.conflict(
        type,
        name,
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${old.resourceVersion}`,
      );
    }
    if (type.group === '' && type.resource === 'namespaces') return this.removeNamespace(resource, old);
    if (type.group === 'apiextensions.k8s.io' && type.resource === 'customresourcedefinitions') return this.removeDefinition(resource, old);
    const metadata = objectAt(old.object, 'metadata');
    const finalizers = Array.isArray(metadata.finalizers) ? metadata.finalizers : [];
    if (finalizers.length > 0) {
      if (metadata.deletionTimestamp !== undefined) return { record: old, gone: false };
      return { record: this.mark(resource, old, {}), gone: false };
    }
    const record = store.delete(namespace, name);
    this.pending.push({ type: 'DELETED', resource, record, previous: old });
    return { record, gone: true };
  }

  /** Sets deletionTimestamp (and `extra` top-level fields), as a graceful delete does. */
  private mark(resource: Resource, old: ObjectRecord, extra: JsonObject): ObjectRecord {
    const metadata = orderedMetadata({ ...objectAt(old.object, 'metadata'), deletionTimestamp: timestamp(this.now()), deletionGracePeriodSeconds: 0 });
    const record = resource.store.update(old.namespace, old.name, { ...old.object, ...extra, metadata });
    this.pending.push({ type: 'MODIFIED', resource, record, previous: old });
    return record;
  }

  /**
   * A namespace is marked Terminating, its contents deleted, then it
   * goes: what the namespace controller does, done at once. The answer is
   * the Terminating namespace, as kube's.
   */
  private removeNamespace(resource: Resource, old: ObjectRecord): DeleteResult {
    if (IMMORTAL_NAMESPACES.has(old.name)) throw errors.forbiddenResource(resource.type, old.name, 'this namespace may not be deleted');
    if (objectAt(old.object, 'status').phase === 'Terminating') return { record: old, gone: false };
    const terminating = this.mark(resource, old, { status: { ...objectAt(old.object, 'status'), phase: 'Terminating' } });
    for (const contained of this.registry.all()) {
      if (!contained.type.namespaced) continue;
      for (const record of contained.store.list(old.name)) this.removeQuietly(contained, record);
    }
    const gone = resource.store.delete('', old.name);
    this.pending.push({ type: 'DELETED', resource, record: gone, previous: terminating });
    return { record: terminating, gone: false };
  }

  /**
   * A CRD is marked for deletion, its custom resources deleted, their
   * watches ended, the resource no longer served, then the CRD goes.
   */
  private removeDefinition(resource: Resource, old: ObjectRecord): DeleteResult {
    const spec = objectAt(old.object, 'spec');
    const plural = text(objectAt(spec, 'names').plural);
    const group = text(spec.group);
    const metadata = objectAt(old.object, 'metadata');
    const finalizers = Array.isArray(metadata.finalizers) ? metadata.finalizers : [];
    const cleanup = 'customresourcecleanup.apiextensions.k8s.io';
    const withFinalizer = { ...old.object, metadata: { ...metadata, finalizers: finalizers.includes(cleanup) ? finalizers : [...finalizers, cleanup] } };
    const marked = this.mark(resource, { ...old, object: withFinalizer }, { status: terminatingStatus(old.object, this.now()) });
    const served = this.registry.byResource(group, plural);
    if (served !== undefined) {
      for (const record of served.store.list()) this.removeQuietly(served, record);
      served.hub.endAll();
      this.registry.unregister(group, plural);
    }
    const gone = resource.store.delete('', old.name);
    this.pending.push({ type: 'DELETED', resource, record: gone, previous: marked });
    return { record: marked, gone: false };
  }

  /** Cascades delete regardless of finalizers (what the controllers achieve in the end); a record already gone is fine. */
  private removeQuietly(resource: Resource, record: ObjectRecord): void {
    const current = resource.store.get(record.namespace, record.name);
    if (current === undefined) return;
    const gone = resource.store.delete(record.namespace, record.name);
    this.pending.push({ type: 'DELETED', resource, record: gone, previous: current });
  }

  private write<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      this.depth--;
      if (this.depth === 0) this.drain();
    }
  }

  /** Hands queued events to the reactor once no write is in progress; its own writes queue behind. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let event = this.pending.shift(); event !== undefined; event = this.pending.shift()) this.reactor?.(event);
    } finally {
      this.draining = false;
    }
  }
}

/** A namespaced object takes the URL's namespace (a different one in the body is a 400); cluster-scoped objects have none. */
function withNamespace(type: ResourceType, namespace: string, object: JsonObject): JsonObject {
  const metadata = { ...objectAt(object, 'metadata') };
  if (!type.namespaced) {
    delete metadata.namespace;
    return { ...object, metadata };
  }
  const sent = metadata.namespace;
  if (typeof sent === 'string' && sent !== '' && sent !== namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  return { ...object, metadata: { ...metadata, namespace } };
}

