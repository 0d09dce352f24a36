import { MAX_SLICE_ENTRIES, sameEntry, sliceIndex, sliceName, type SliceEntry, type StoredSlice } from './peer-slice.ts';

/**
 * A write that brings one slice to what the assignment holds. `version`
 * says which state of the slice it carries: a change made while the write
 * is in flight keeps the slice due for another write.
 */
export type SliceWrite =
  | { kind: 'create'; name: string; entries: SliceEntry[]; version: number }
  | { kind: 'update'; name: string; resourceVersion: string; entries: SliceEntry[]; version: number }
  | { kind: 'delete'; name: string; resourceVersion: string; version: number };

interface Slot {
  name: string;
  /** null: not on the apiserver (yet, or any more). */
  resourceVersion: string | null;
  entries: Map<string, SliceEntry>;
  /** Bumped by every change of the entries. */
  version: number;
  /** The entries differ from what the apiserver holds. */
  due: boolean;
}

export interface AssignmentOptions {
  /** The cluster whose nodes the slices describe. */
  source: string;
  /** The cluster whose daemons read them. */
  peer: string;
  maxEntries?: number;
}

/**
 * Which node is in which slice of one (source, peer) pair, and which
 * slices must be written (docs/fleet-mode.md, "Slices"). No I/O: the
 * publisher feeds it node changes and the results of its writes.
 *
 * - A node keeps its slice for as long as it exists; its entry changing
 *   rewrites that slice only.
 * - A new node goes into a slice that must be written anyway, else into
 *   a slice with room, else into a new slice: deletes leave holes, and
 *   new nodes fill them.
 * - A slice is due only when one of its entries changes: setting a node
 *   to the entry it already has changes nothing (a kubelet heartbeat).
 * - An emptied slice is deleted.
 * - `adopt` starts from the slices as they exist (a new leader, or a
 *   re-read after a conflict): nodes stay where they are; entries of
 *   nodes gone, repeated or over a slice's bound are dropped.
 *
 * Each change costs work for that node only (plus a look at the slices
 * for a new node), never a pass over every node.
 */
export class SliceAssignment {
  readonly #source: string;
  readonly #peer: string;
  readonly #max: number;
  /** In name order of adoption, then in order of creation. */
  readonly #slots = new Map<string, Slot>();
  readonly #sliceOf = new Map<string, Slot>();
  #version = 0;

  private constructor(options: AssignmentOptions) {
    this.#source = options.source;
    this.#peer = options.peer;
    this.#max = options.maxEntries ?? MAX_SLICE_ENTRIES;
  }

  /** The assignment of `desired` entries that moves nothing out of the `existing` slices it can stay in. */
  static adopt(options: AssignmentOptions, existing: readonly StoredSlice[], desired: Iterable<SliceEntry>): SliceAssignment {
    const assignment = new SliceAssignment(options);
    const wanted = new Map<string, SliceEntry>();
    for (const entry of desired) wanted.set(entry.node, entry);
    const byName = existing.toSorted((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const stored of byName) {
      const slot: Slot = { name: stored.name, resourceVersion: stored.resourceVersion, entries: new Map(), version: 0, due: stored.entries.length === 0 };
      assignment.#slots.set(slot.name, slot);
      for (const entry of stored.entries) {
        const want = wanted.get(entry.node);
        if (want === undefined || assignment.#sliceOf.has(entry.node) || slot.entries.size >= assignment.#max) {
          slot.due = true;
          continue;
        }
        if (!sameEntry(want, entry)) slot.due = true;
        slot.entries.set(entry.node, want);
        assignment.#sliceOf.set(entry.node, slot);
      }
    }
    const unplaced = [...wanted.values()].filter((e) => !assignment.#sliceOf.has(e.node)).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    for (const entry of unplaced) assignment.set(entry);
    return assignment;
  }

  /** A node's entry, added or changed; nothing when it is the entry the node has. True when a slice became due. */
  set(entry: SliceEntry): boolean {
    const slot = this.#sliceOf.get(entry.node);
    if (slot) {
      const current = slot.entries.get(entry.node);
      if (current !== undefined && sameEntry(current, entry)) return false;
      slot.entries.set(entry.node, entry);
      this.#touch(slot);
      return true;
    }
    const target = this.#slotWithRoom();
    target.entries.set(entry.node, entry);
    this.#sliceOf.set(entry.node, target);
    this.#touch(target);
    return true;
  }

  /** A node gone, or no longer publishable. True when a slice became due. */
  remove(node: string): boolean {
    const slot = this.#sliceOf.get(node);
    if (!slot) return false;
    slot.entries.delete(node);
    this.#sliceOf.delete(node);
    this.#touch(slot);
    return true;
  }

  /** The writes that make the apiserver hold the assignment; none when nothing changed. Entries in node name order. */
  plan(): SliceWrite[] {
    const writes: SliceWrite[] = [];
    for (const slot of this.#slots.values()) {
      if (!slot.due) continue;
      if (slot.entries.size === 0) {
        if (slot.resourceVersion === null) this.#slots.delete(slot.name);
        else writes.push({ kind: 'delete', name: slot.name, resourceVersion: slot.resourceVersion, version: slot.version });
        continue;
      }
      const entries = [...slot.entries.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
      if (slot.resourceVersion === null) writes.push({ kind: 'create', name: slot.name, entries, version: slot.version });
      else writes.push({ kind: 'update', name: slot.name, resourceVersion: slot.resourceVersion, entries, version: slot.version });
    }
    return writes;
  }

  /** `write` succeeded; `resourceVersion` is the slice's new one (null after a delete). */
  written(write: SliceWrite, resourceVersion: string | null): void {
    const slot = this.#slots.get(write.name);
    if (!slot) return;
    slot.resourceVersion = write.kind === 'delete' ? null : resourceVersion;
    if (slot.version !== write.version) return; // changed since: due again
    slot.due = false;
    if (write.kind === 'delete') this.#slots.delete(slot.name);
  }

  /** Slices that exist or are to be created, by name, with their nodes in name order (for /status and tests). */
  slices(): { name: string; nodes: string[]; due: boolean }[] {
    return [...this.#slots.values()]
      .filter((slot) => slot.entries.size > 0 || slot.resourceVersion !== null)
      .map((slot) => ({ name: slot.name, nodes: [...slot.entries.keys()].sort(), due: slot.due }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Nodes placed. */
  get entryCount(): number {
    return this.#sliceOf.size;
  }

  /** Slices that exist or are to be created, and how many of them wait for a write: without listing their nodes. */
  counts(): { slices: number; due: number } {
    let slices = 0;
    let due = 0;
    for (const slot of this.#slots.values()) {
      if (slot.entries.size === 0 && slot.resourceVersion === null) continue;
      slices++;
      if (slot.due) due++;
    }
    return { slices, due };
  }

  #touch(slot: Slot): void {
    slot.version = ++this.#version;
    slot.due = true;
  }

  /** A slice due anyway, else any with room, else a new one under the lowest free index. */
  #slotWithRoom(): Slot {
    let roomy: Slot | null = null;
    for (const slot of this.#slots.values()) {
      if (slot.entries.size >= this.#max) continue;
      if (slot.due) return slot;
      roomy ??= slot;
    }
    if (roomy) return roomy;
    const used = new Set([...this.#slots.keys()].map((name) => sliceIndex(this.#source, this.#peer, name)));
    let index = 0;
    while (used.has(index)) index++;
    const slot: Slot = { name: sliceName(this.#source, this.#peer, index), resourceVersion: null, entries: new Map(), version: 0, due: true };
    this.#slots.set(slot.name, slot);
    return slot;
  }
}
