import { decodeContinue, encodeContinue, nameAfter } from './continue-token.ts';
import { namespaceSlice, type ObjectStore } from './object-store.ts';
import type { ObjectRecord } from './object-record.ts';
import type { ObjectPredicate } from './selectors.ts';
import { errors } from './status.ts';

export interface ListQuery {
  /** '' lists every namespace (and cluster-scoped resources). */
  namespace: string;
  /** '' (most recent), '0' (any) or a number, as sent. */
  resourceVersion: string;
  /** '', 'NotOlderThan' or 'Exact'. */
  resourceVersionMatch: string;
  /** null or 0: everything in one response. */
  limit: number | null;
  continueToken: string;
  predicate: ObjectPredicate | null;
}

export interface ListPage {
  resourceVersion: number;
  items: ObjectRecord[];
  continueToken: string | null;
  /** Only without selectors, as kube-apiserver reports it. */
  remainingItemCount: number | null;
}

const TOO_OLD = 'The resourceVersion for the provided list is too old.';
const CONTINUE_TOO_OLD =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

function parseResourceVersion(text: string): number {
  if (!/^\d+$/.test(text)) throw errors.badRequest(`invalid resource version: ${text}`);
  return Number(text);
}

interface Source {
  resourceVersion: number;
  /** Every object of the resource, in key order. */
  records: ObjectRecord[];
  /** Continue position, relative to the list's scope (the namespace's keys or all keys). */
  start: string;
}

/** Which state a list reads, following the resourceVersion/resourceVersionMatch table of the API docs. */
function listSource(store: ObjectStore, query: ListQuery): Source {
  if (query.continueToken !== '') {
    if (query.resourceVersion !== '' && query.resourceVersion !== '0') {
      throw errors.badRequest('specifying resource version is not allowed when using continue');
    }
    let position;
    try {
      position = decodeContinue(query.continueToken);
    } catch (error) {
      throw errors.badRequest((error as Error).message);
    }
    if (position.resourceVersion === -1) {
      return { resourceVersion: store.resourceVersion, records: store.list(), start: position.start };
    }
    const records = store.snapshotAt(position.resourceVersion);
    if (records === undefined) {
      throw errors.expired(CONTINUE_TOO_OLD, encodeContinue({ resourceVersion: -1, start: position.start }));
    }
    return { resourceVersion: position.resourceVersion, records, start: position.start };
  }
  const match = query.resourceVersionMatch;
  if (match !== '' && match !== 'NotOlderThan' && match !== 'Exact') {
    throw errors.badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
  }
  if (match !== '' && query.resourceVersion === '') {
    throw errors.badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
  }
  if (query.resourceVersion === '' || query.resourceVersion === '0') {
    if (match === 'Exact') throw errors.badRequest('resourceVersionMatch "Exact" is forbidden for resourceVersion "0"');
    return { resourceVersion: store.resourceVersion, records: store.list(), start: '' };
  }
  const rv = parseResourceVersion(query.resourceVersion);
  if (rv > store.resourceVersion) throw errors.tooLargeResourceVersion(rv, store.resourceVersion);
  // A limited list at a given resourceVersion is an exact read, for compatibility with paging clients.
  const exact = match === 'Exact' || (match === '' && (query.limit ?? 0) > 0);
  if (!exact) return { resourceVersion: store.resourceVersion, records: store.list(), start: '' };
  const records = store.snapshotAt(rv);
  if (records === undefined) throw errors.expired(TOO_OLD);
  return { resourceVersion: rv, records, start: '' };
}

function firstAtOrAfter(records: ObjectRecord[], start: string): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((records[mid]?.key ?? '') < start) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** One list response's content. Throws ApiError (400, 410, 504) as the apiserver would. */
export function listObjects(store: ObjectStore, query: ListQuery): ListPage {
  const source = listSource(store, query);
  const { namespace, predicate } = query;
  // Keys are `namespace/name`; a namespaced list's continue keys are relative to `namespace/`, as etcd's are to the list prefix.
  const scopePrefix = namespace === '' ? '' : `${namespace}/`;
  const records = namespace === '' ? source.records : namespaceSlice(source.records, namespace, (record) => record.key);
  const limit = query.limit !== null && query.limit > 0 ? query.limit : Infinity;
  const items: ObjectRecord[] = [];
  let index = source.start === '' ? 0 : firstAtOrAfter(records, scopePrefix + source.start);
  for (; index < records.length && items.length < limit; index++) {
    const record = records[index] as ObjectRecord;
    if (predicate === null || predicate(record.object)) items.push(record);
  }
  if (index >= records.length) {
    return { resourceVersion: source.resourceVersion, items, continueToken: null, remainingItemCount: null };
  }
  store.rememberSnapshot(source.resourceVersion, source.records);
  const last = items[items.length - 1] as ObjectRecord;
  return {
    resourceVersion: source.resourceVersion,
    items,
    continueToken: encodeContinue({ resourceVersion: source.resourceVersion, start: nameAfter(last.key.slice(scopePrefix.length)) }),
    remainingItemCount: predicate === null ? records.length - index : null,
  };
}
