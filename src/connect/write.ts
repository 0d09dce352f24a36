import { describeRef, type KubeObject, type ObjectRef } from './objects.ts';

/**
 * One write a plan decided on. `details` are lines for a person (what
 * changes, never a secret value): `--dry-run` prints them, and so does a
 * real run after each write.
 */
export type Write =
  | { verb: 'create'; ref: ObjectRef; body: KubeObject; details: string[] }
  /** A PUT of the whole object; its body carries the resourceVersion it was read at, so a concurrent change fails with 409. */
  | { verb: 'update'; ref: ObjectRef; body: KubeObject; details: string[] }
  /** A JSON merge patch. */
  | { verb: 'patch'; ref: ObjectRef; patch: unknown; details: string[] }
  /** Deleted only if still the object that was read (a uid precondition). */
  | { verb: 'delete'; ref: ObjectRef; uid: string; details: string[] };

const PAST = { create: 'created', update: 'updated', patch: 'patched', delete: 'deleted' } as const;

/** `would create Secret clusterwire/x` (dry run) or `created Secret clusterwire/x`, then the details indented. */
export function describeWrite(write: Write, dryRun: boolean): string[] {
  const verb = dryRun ? `would ${write.verb}` : PAST[write.verb];
  return [`${verb} ${describeRef(write.ref)}`, ...write.details.map((line) => `    ${line}`)];
}
