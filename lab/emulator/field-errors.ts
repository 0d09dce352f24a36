import type { JsonValue } from './json.ts';

/**
 * apimachinery's field.Error: what validation finds wrong with one field,
 * rendered exactly as kube-apiserver renders it in a 422's message and
 * causes.
 */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueTypeInvalid'
  | 'FieldValueForbidden'
  | 'FieldValueDuplicate';

export interface FieldError {
  readonly type: FieldErrorType;
  /** Dotted path, e.g. `spec.entries[0].node`. */
  readonly field: string;
  /** undefined: the value is not shown (Required, TooLong, Forbidden). */
  readonly value?: JsonValue;
  readonly detail: string;
}

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueForbidden: 'Forbidden',
  FieldValueDuplicate: 'Duplicate value',
};

export const fieldErrors = {
  required: (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, detail }),
  invalid: (field: string, value: JsonValue, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, value, detail }),
  typeInvalid: (field: string, value: JsonValue, detail: string): FieldError => ({ type: 'FieldValueTypeInvalid', field, value, detail }),
  notSupported: (field: string, value: JsonValue, supported: readonly string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    value,
    detail: supported.length === 0 ? '' : `supported values: ${supported.map((v) => JSON.stringify(v)).join(', ')}`,
  }),
  tooLong: (field: string, maxLength: number): FieldError => ({ type: 'FieldValueTooLong', field, detail: `may not be more than ${maxLength} bytes` }),
  tooMany: (field: string, actual: number, max: number): FieldError => ({ type: 'FieldValueTooMany', field, value: actual, detail: `must have at most ${max} items` }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail }),
  duplicate: (field: string, value: JsonValue): FieldError => ({ type: 'FieldValueDuplicate', field, value, detail: '' }),
};

/** Go's %v / %q of a value as field.Error prints it. */
function goValue(value: JsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The error without its field (a StatusCause's message). */
export function errorBody(error: FieldError): string {
  let text = TYPE_TEXT[error.type];
  if (error.value !== undefined && error.type !== 'FieldValueRequired' && error.type !== 'FieldValueTooLong' && error.type !== 'FieldValueForbidden') {
    text += `: ${goValue(error.value)}`;
  }
  return error.detail === '' ? text : `${text}: ${error.detail}`;
}

export function fieldErrorText(error: FieldError): string {
  return `${error.field}: ${errorBody(error)}`;
}

/** utilerrors.NewAggregate's text, duplicates dropped as field.ErrorList.ToAggregate does. */
export function aggregateText(errors: readonly FieldError[]): string {
  const texts = [...new Set(errors.map(fieldErrorText))];
  return texts.length === 1 ? (texts[0] as string) : `[${texts.join(', ')}]`;
}
