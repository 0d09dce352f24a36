import { isJsonObject, type JsonObject, type JsonValue } from './json.ts';
import { applyJsonPatch, decodeJsonPatch, JsonPatchApplyError, JsonPatchDecodeError } from './json-patch.ts';
import { applyMergePatch } from './merge-patch.ts';
import { applyStrategicMergePatch, StrategicPatchError } from './strategic-merge-patch.ts';
import { errors } from './status.ts';

export type PatchType = 'merge' | 'strategic' | 'json';

const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
};

/** The patch type of a PATCH request's Content-Type; 415 for others (server-side apply included). */
export function patchTypeOf(contentType: string): PatchType {
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const type = PATCH_TYPES[mediaType];
  if (type === undefined) throw errors.unsupportedMediaType(contentType);
  return type;
}

/**
 * Applies a patch to a node in its wire form (with kind/apiVersion, as
 * clients address it). Malformed patches are 400s, patches that do not
 * apply are 422s, like kube-apiserver's.
 */
export function applyNodePatch(type: PatchType, node: JsonObject, patch: JsonValue): JsonValue {
  try {
    switch (type) {
      case 'merge':
        if (!isJsonObject(patch)) throw errors.badRequest('merge patch must be a JSON object');
        return applyMergePatch(node, patch);
      case 'strategic':
        return applyStrategicMergePatch(node, patch);
      case 'json':
        return applyJsonPatch(node, decodeJsonPatch(patch));
    }
  } catch (error) {
    if (error instanceof JsonPatchDecodeError || error instanceof StrategicPatchError) throw errors.badRequest(error.message);
    if (error instanceof JsonPatchApplyError) throw errors.unprocessable(error.message);
    throw error;
  }
}

/**
 * What a write through the main resource or the status subresource may
 * change (nodeStrategy / nodeStatusStrategy): the main resource keeps the
 * old status, the status subresource keeps the old spec.
 */
export function scopeWrite(subresource: 'main' | 'status', old: JsonObject, incoming: JsonObject): JsonObject {
  const kept = subresource === 'main' ? 'status' : 'spec';
  const result: JsonObject = { ...incoming };
  if (old[kept] === undefined) delete result[kept];
  else result[kept] = old[kept];
  return result;
}
