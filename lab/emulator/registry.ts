import { ObjectStore } from './object-store.ts';
import { apiVersionOf, type ResourceType } from './resource-type.ts';
import type { Revision } from './revision.ts';
import { WatchHub, type WatchHubOptions } from './watch-hub.ts';

/** A served resource: its rules, its storage and its open watches. */
export interface Resource {
  /** Replaced when a CRD changes; store and hub stay. */
  type: ResourceType;
  readonly store: ObjectStore;
  readonly hub: WatchHub;
}

export interface RegistryOptions {
  revision: Revision;
  historyLimit: number;
  now: () => number;
  watch: WatchHubOptions;
}

function keyOf(group: string, resource: string): string {
  return `${group}/${resource}`;
}

/**
 * Every resource the emulator serves, built-in and from CRDs, by
 * group/resource (as discovery and URLs name them) and by apiVersion/kind
 * (as objects name themselves). A change (a CRD registered or removed)
 * bumps `generation`, which discovery uses as its ETag.
 */
export class Registry {
  private readonly resources = new Map<string, Resource>();
  private readonly options: RegistryOptions;
  private changes = 0;

  constructor(options: RegistryOptions) {
    this.options = options;
  }

  get generation(): number {
    return this.changes;
  }

  /** Adds a resource, or replaces the rules of one already served (its objects and watches stay). */
  register(type: ResourceType): Resource {
    this.changes++;
    const key = keyOf(type.group, type.resource);
    const existing = this.resources.get(key);
    if (existing !== undefined) {
      existing.type = type;
      return existing;
    }
    const store = new ObjectStore({
      resource: { group: type.group, resource: type.resource },
      historyLimit: this.options.historyLimit,
      now: this.options.now,
      revision: this.options.revision,
    });
    const resource: Resource = { type, store, hub: new WatchHub(store, this.options.watch) };
    this.resources.set(key, resource);
    return resource;
  }

  /** Stops serving a resource; its watches are the caller's to end. */
  unregister(group: string, resource: string): Resource | undefined {
    const key = keyOf(group, resource);
    const found = this.resources.get(key);
    if (found === undefined) return undefined;
    this.changes++;
    this.resources.delete(key);
    found.hub.stop();
    return found;
  }

  /** The resource at `group/version/resource`, when that version is served. */
  lookup(group: string, version: string, resource: string): Resource | undefined {
    const found = this.resources.get(keyOf(group, resource));
    return found !== undefined && found.type.versions.includes(version) ? found : undefined;
  }

  /** Regardless of version: for cascades and RBAC reads of built-in resources. */
  byResource(group: string, resource: string): Resource | undefined {
    return this.resources.get(keyOf(group, resource));
  }

  /** The resource whose objects are `apiVersion`/`kind`, and the version named. */
  byKind(apiVersion: string, kind: string): { resource: Resource; version: string } | undefined {
    const slash = apiVersion.lastIndexOf('/');
    const group = slash < 0 ? '' : apiVersion.slice(0, slash);
    const version = apiVersion.slice(slash + 1);
    for (const resource of this.resources.values()) {
      const { type } = resource;
      if (type.group === group && type.kind === kind && type.versions.includes(version)) return { resource, version };
    }
    return undefined;
  }

  all(): Resource[] {
    return [...this.resources.values()];
  }

  /** Served group versions, in discovery order: core first, then by group (built-in groups before CRD groups). */
  groupVersions(): string[] {
    const seen = new Set<string>();
    for (const { type } of this.resources.values()) {
      for (const version of type.versions) seen.add(apiVersionOf(type.group, version));
    }
    return [...seen];
  }

  stop(): void {
    for (const resource of this.resources.values()) resource.hub.stop();
  }
}
