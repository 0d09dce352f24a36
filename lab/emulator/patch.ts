import { isJsonObject, type JsonObject, type JsonValue } from './json.ts';
import { applyJsonPatch, decodeJsonPatch, JsonPatchApplyError, JsonPatchDecodeError } from './json-patch.ts';
import { applyMergePatch } from './merge-patch.ts';
import { applyStrategicMergePatch, StrategicPatchError, type ListStrategies } from './strategic-merge-patch.ts';
import { errors } from './status.ts';

export type PatchType = 'merge' | 'strategic' | 'json';

const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
};

/**
 * The patch type of a PATCH request's Content-Type; 415 for others
 * (server-side apply included), and for strategic merge patches of
 * resources without Go types (custom resources), as kube answers.
 */
export function patchTypeOf(contentType: string, strategicAllowed: boolean): PatchType {
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const type = PATCH_TYPES[mediaType];
  const accepted = ['application/json-patch+json', 'application/merge-patch+json', ...(strategicAllowed ? ['application/strategic-merge-patch+json'] : [])];
  if (type === undefined || (type === 'strategic' && !strategicAllowed)) throw errors.unsupportedMediaType(contentType, accepted);
  return type;
}

/**
 * Applies a patch to an object in its wire form (with kind/apiVersion, as
 * clients address it). Malformed patches are 400s, patches that do not
 * apply are 422s, like kube-apiserver's.
 */
export function applyPatch(type: PatchType, object: JsonObject, patch: JsonValue, strategies: ListStrategies): JsonValue {
  try {
    switch (type) {
      case 'merge':
        if (!isJsonObject(patch)) throw errors.badRequest('merge patch must be a JSON object');
        return applyMergePatch(object, patch);
      case 'strategic':
        return applyStrategicMergePatch(object, patch, strategies);
      case 'json':
        return applyJsonPatch(object, decodeJsonPatch(patch));
    }
  } catch (error) {
    if (error instanceof JsonPatchDecodeError || error instanceof StrategicPatchError) throw errors.badRequest(error.message);
    if (error instanceof JsonPatchApplyError) throw errors.unprocessable(error.message);
    throw error;
  }
}
