import { objectAt, type JsonObject, type JsonValue } from './json.ts';
import { withTypeMeta } from './object-record.ts';
import { frame, type FrameRenderer } from './watch-frames.ts';

/**
 * Server-side printing (what `kubectl get` asks for with
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): a resource's
 * printer gives the columns and each object's cells.
 */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface Printer {
  readonly columns: readonly JsonObject[];
  cells(object: JsonObject, nowMs: number): JsonValue[];
}

export const NAME_COLUMN: JsonObject = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};

export const AGE_COLUMN: JsonObject = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  priority: 0,
};

/** A plain column definition. */
export function column(name: string, description: string, priority = 0, type = 'string'): JsonObject {
  return { name, type, format: '', description, priority };
}

/** kube's duration.HumanDuration, as the Age column shows it. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** The Age cell of a timestamp string (kube's translateTimestampSince). */
export function ageOf(value: JsonValue | undefined, nowMs: number): string {
  const created = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(created) ? '<unknown>' : humanDuration(nowMs - created);
}

export function nameCell(object: JsonObject): string {
  const name = objectAt(object, 'metadata').name;
  return typeof name === 'string' ? name : '';
}

export function ageCell(object: JsonObject, nowMs: number): string {
  return ageOf(objectAt(object, 'metadata').creationTimestamp, nowMs);
}

export function tableRow(printer: Printer, object: JsonObject, fullJson: string, include: IncludeObject, tableVersion: string, nowMs: number): string {
  const cells = JSON.stringify(printer.cells(object, nowMs));
  if (include === 'None') return `{"cells":${cells}}`;
  if (include === 'Object') return `{"cells":${cells},"object":${fullJson}}`;
  const partial = { kind: 'PartialObjectMetadata', apiVersion: tableVersion, metadata: objectAt(object, 'metadata') };
  return `{"cells":${cells},"object":${JSON.stringify(partial)}}`;
}

/** A Table's text around its rows. */
export function tableJson(printer: Printer, listMetadata: JsonObject, rows: string[], tableVersion: string, withColumns = true): string {
  const columns = withColumns ? `,"columnDefinitions":${JSON.stringify(printer.columns)}` : ',"columnDefinitions":null';
  return `{"kind":"Table","apiVersion":"${tableVersion}","metadata":${JSON.stringify(listMetadata)}${columns},"rows":[${rows.join(',')}]}`;
}

/**
 * Watch events as Tables of one row; like kube-apiserver, only the first
 * carries the column definitions.
 */
export function tableWatchRenderer(printer: Printer, include: IncludeObject, tableVersion: string, typeMeta: string, now: () => number): FrameRenderer {
  let first = true;
  return (type, record) => {
    const row = tableRow(printer, record.object, withTypeMeta(typeMeta, record.json), include, tableVersion, now());
    const table = tableJson(printer, { resourceVersion: String(record.resourceVersion) }, [row], tableVersion, first);
    first = false;
    return frame(type, table);
  };
}
