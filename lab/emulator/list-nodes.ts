import { decodeContinue, encodeContinue, nameAfter } from './continue-token.ts';
import type { NodeRecord } from './node-record.ts';
import type { NodeStore } from './node-store.ts';
import type { NodePredicate } from './selectors.ts';
import { errors } from './status.ts';

export interface ListQuery {
  /** '' (most recent), '0' (any) or a number, as sent. */
  resourceVersion: string;
  /** '', 'NotOlderThan' or 'Exact'. */
  resourceVersionMatch: string;
  /** null or 0: everything in one response. */
  limit: number | null;
  continueToken: string;
  predicate: NodePredicate | null;
}

export interface ListPage {
  resourceVersion: number;
  items: NodeRecord[];
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
  records: NodeRecord[];
  start: string;
}

/** Which state a list reads, following the resourceVersion/resourceVersionMatch table of the API docs. */
function listSource(store: NodeStore, query: ListQuery): Source {
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

function firstAtOrAfter(records: NodeRecord[], start: string): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((records[mid]?.name ?? '') < start) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** One list response's content. Throws ApiError (400, 410, 504) as the apiserver would. */
export function listNodes(store: NodeStore, query: ListQuery): ListPage {
  const source = listSource(store, query);
  const { records } = source;
  const { predicate } = query;
  const limit = query.limit !== null && query.limit > 0 ? query.limit : Infinity;
  const items: NodeRecord[] = [];
  let index = source.start === '' ? 0 : firstAtOrAfter(records, source.start);
  for (; index < records.length && items.length < limit; index++) {
    const record = records[index] as NodeRecord;
    if (predicate === null || predicate(record.object)) items.push(record);
  }
  if (index >= records.length) {
    return { resourceVersion: source.resourceVersion, items, continueToken: null, remainingItemCount: null };
  }
  store.rememberSnapshot(source.resourceVersion, records);
  const last = items[items.length - 1] as NodeRecord;
  return {
    resourceVersion: source.resourceVersion,
    items,
    continueToken: encodeContinue({ resourceVersion: source.resourceVersion, start: nameAfter(last.name) }),
    remainingItemCount: predicate === null ? records.length - index : null,
  };
}
