import { objectAt, stringMapAt, type JsonObject } from './json.ts';

/**
 * labelSelector and fieldSelector as kube-apiserver parses them. A parse
 * failure throws an Error whose message is the 400's message.
 */
export type ObjectPredicate = (object: JsonObject) => boolean;

/** A resource's selectable fields beside metadata.name and metadata.namespace (its ToSelectableFields). */
export type FieldReaders = Readonly<Record<string, (object: JsonObject) => string>>;

type LabelRequirement = (labels: Record<string, string>) => boolean;

const KEY = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^(${KEY})$`);
const NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const COMPARE = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const ORDER = new RegExp(`^(${KEY})\\s*(>|<)\\s*(-?\\d+)$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const SET_VALUE = new RegExp(`^${VALUE}$`);

/** Splits on commas that are not inside `( )` (set values contain commas). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

function parseLabelRequirement(text: string): LabelRequirement {
  let m = EXISTS.exec(text);
  if (m) {
    const key = m[1] ?? '';
    return (labels) => key in labels;
  }
  m = NOT_EXISTS.exec(text);
  if (m) {
    const key = m[1] ?? '';
    return (labels) => !(key in labels);
  }
  m = COMPARE.exec(text);
  if (m) {
    const [, key = '', op, value = ''] = m;
    return op === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
  }
  m = ORDER.exec(text);
  if (m) {
    const [, key = '', op, bound = ''] = m;
    const limit = Number(bound);
    return (labels) => {
      const value = labels[key];
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      return op === '>' ? Number(value) > limit : Number(value) < limit;
    };
  }
  m = SET.exec(text);
  if (m) {
    const [, key = '', op, list = ''] = m;
    const values = list.split(',').map((v) => v.trim());
    const bad = values.find((v) => !SET_VALUE.test(v));
    if (bad !== undefined) throw new Error(`unable to parse requirement: invalid label value: "${bad}"`);
    const set = new Set(values);
    return op === 'in'
      ? (labels) => labels[key] !== undefined && set.has(labels[key])
      : (labels) => labels[key] === undefined || !set.has(labels[key]);
  }
  throw new Error(`unable to parse requirement: found '${text}', expected: a label requirement`);
}

export function parseLabelSelector(text: string): ObjectPredicate | null {
  if (text.trim() === '') return null;
  const requirements = splitTopLevel(text).map(parseLabelRequirement);
  return (object) => {
    const labels = stringMapAt(objectAt(object, 'metadata'), 'labels');
    return requirements.every((requirement) => requirement(labels));
  };
}

function metadataString(object: JsonObject, field: string): string {
  const value = objectAt(object, 'metadata')[field];
  return typeof value === 'string' ? value : '';
}

/** Every resource can be selected by these. */
const METADATA_FIELDS: FieldReaders = {
  'metadata.name': (object) => metadataString(object, 'name'),
  'metadata.namespace': (object) => metadataString(object, 'namespace'),
};

/** Splits on `sep` unless escaped with a backslash, and unescapes. */
function splitEscaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === '\\' && i + 1 < text.length) {
      current += text[++i] ?? '';
    } else if (c === sep) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

export function parseFieldSelector(text: string, fields: FieldReaders = {}): ObjectPredicate | null {
  if (text.trim() === '') return null;
  const tests = splitEscaped(text, ',').map((term) => {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)(.*)$/s.exec(term);
    if (!m) throw new Error(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, field = '', op, value = ''] = m;
    const read = METADATA_FIELDS[field] ?? fields[field];
    if (read === undefined) throw new Error(`field label not supported: ${field}`);
    return op === '!=' ? (object: JsonObject) => read(object) !== value : (object: JsonObject) => read(object) === value;
  });
  return (object) => tests.every((test) => test(object));
}

/** The value a field selector requires exactly (`metadata.name=x`), as the apiserver reads a list's name for authorization. */
export function exactFieldValue(text: string, field: string): string | null {
  for (const term of splitEscaped(text, ',')) {
    const m = /^\s*([^!=\s]+)\s*(==|=)(.*)$/s.exec(term);
    if (m !== null && m[1] === field) return m[3] ?? '';
  }
  return null;
}

/** Predicates combined; null when none restricts anything. */
export function allOf(...predicates: (ObjectPredicate | null)[]): ObjectPredicate | null {
  const active = predicates.filter((p): p is ObjectPredicate => p !== null);
  if (active.length === 0) return null;
  if (active.length === 1) return active[0] as ObjectPredicate;
  return (object) => active.every((p) => p(object));
}

/** Both selectors combined; null when neither restricts anything. */
export function objectSelector(labelSelector: string, fieldSelector: string, fields: FieldReaders = {}): ObjectPredicate | null {
  return allOf(parseLabelSelector(labelSelector), parseFieldSelector(fieldSelector, fields));
}
