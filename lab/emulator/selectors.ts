import { objectAt, stringMapAt, type JsonObject } from './json.ts';

/**
 * labelSelector and fieldSelector as kube-apiserver parses them for Nodes.
 * A parse failure throws an Error whose message is the 400's message.
 */
export type NodePredicate = (node: JsonObject) => boolean;

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

export function parseLabelSelector(text: string): NodePredicate | null {
  if (text.trim() === '') return null;
  const requirements = splitTopLevel(text).map(parseLabelRequirement);
  return (node) => {
    const labels = stringMapAt(objectAt(node, 'metadata'), 'labels');
    return requirements.every((requirement) => requirement(labels));
  };
}

/** The fields kube-apiserver lets clients select Nodes by (node.ToSelectableFields). */
const NODE_FIELDS: Record<string, (node: JsonObject) => string> = {
  'metadata.name': (node) => {
    const name = objectAt(node, 'metadata').name;
    return typeof name === 'string' ? name : '';
  },
  'metadata.namespace': () => '',
  'spec.unschedulable': (node) => String(objectAt(node, 'spec').unschedulable === true),
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

export function parseFieldSelector(text: string): NodePredicate | null {
  if (text.trim() === '') return null;
  const tests = splitEscaped(text, ',').map((term) => {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)(.*)$/s.exec(term);
    if (!m) throw new Error(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, field = '', op, value = ''] = m;
    const read = NODE_FIELDS[field];
    if (read === undefined) throw new Error(`field label not supported: ${field}`);
    return op === '!=' ? (node: JsonObject) => read(node) !== value : (node: JsonObject) => read(node) === value;
  });
  return (node) => tests.every((test) => test(node));
}

/** Both selectors combined; null when neither restricts anything. */
export function nodeSelector(labelSelector: string, fieldSelector: string): NodePredicate | null {
  const labels = parseLabelSelector(labelSelector);
  const fields = parseFieldSelector(fieldSelector);
  if (labels === null) return fields;
  if (fields === null) return labels;
  return (node) => labels(node) && fields(node);
}
