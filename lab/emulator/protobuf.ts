import type { JsonObject, JsonValue } from './json.ts';

/**
 * Kubernetes protobuf request bodies, read into their JSON form. kubectl's
 * typed clients (`kubectl auth can-i`, `create token`, `auth whoami`,
 * `create namespace|configmap|secret|serviceaccount|role|rolebinding|...`)
 * send `application/vnd.kubernetes.protobuf` and do not fall back to JSON,
 * so the emulator reads the kinds those commands send; responses stay
 * JSON, which the same clients accept. The envelope is kube's: the magic
 * `k8s\0` and a runtime.Unknown holding apiVersion, kind and the message.
 */
type Scalar = 'string' | 'bytes' | 'int64' | 'bool';

interface Message {
  readonly fields: Readonly<Record<number, Field>>;
}

interface Field {
  readonly name: string;
  readonly type: Scalar | Message | { map: Scalar | Message };
  readonly repeated?: boolean;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

const msg = (fields: Record<number, Field>): Message => ({ fields });
const str = (name: string, repeated = false): Field => ({ name, type: 'string', repeated });

/** ExtraValue's JSON is a plain array of its items. */
const EXTRA_VALUE = msg({ 1: str('items', true) });

const OBJECT_META = msg({
  1: str('name'),
  2: str('generateName'),
  3: str('namespace'),
  5: str('uid'),
  6: str('resourceVersion'),
  11: { name: 'labels', type: { map: 'string' } },
  12: { name: 'annotations', type: { map: 'string' } },
  14: str('finalizers', true),
});
const META: Field = { name: 'metadata', type: OBJECT_META };

const RESOURCE_ATTRIBUTES = msg({ 1: str('namespace'), 2: str('verb'), 3: str('group'), 4: str('version'), 5: str('resource'), 6: str('subresource'), 7: str('name') });
const NON_RESOURCE_ATTRIBUTES = msg({ 1: str('path'), 2: str('verb') });
const ACCESS_SPEC = {
  1: { name: 'resourceAttributes', type: RESOURCE_ATTRIBUTES },
  2: { name: 'nonResourceAttributes', type: NON_RESOURCE_ATTRIBUTES },
};
const POLICY_RULE = msg({ 1: str('verbs', true), 2: str('apiGroups', true), 3: str('resources', true), 4: str('resourceNames', true), 5: str('nonResourceURLs', true) });
const BINDING = msg({
  1: META,
  2: { name: 'subjects', type: msg({ 1: str('kind'), 2: str('apiGroup'), 3: str('name'), 4: str('namespace') }), repeated: true },
  3: { name: 'roleRef', type: msg({ 1: str('apiGroup'), 2: str('kind'), 3: str('name') }) },
});
const ROLE = msg({ 1: META, 2: { name: 'rules', type: POLICY_RULE, repeated: true } });

/** The kinds kubectl's typed commands create, by apiVersion/kind. */
const KINDS: Record<string, Message> = {
  'authorization.k8s.io/v1/SelfSubjectAccessReview': msg({ 1: META, 2: { name: 'spec', type: msg(ACCESS_SPEC) } }),
  'authorization.k8s.io/v1/SubjectAccessReview': msg({
    1: META,
    2: {
      name: 'spec',
      type: msg({ ...ACCESS_SPEC, 3: str('user'), 4: str('groups', true), 5: { name: 'extra', type: { map: EXTRA_VALUE } }, 6: str('uid') }),
    },
  }),
  'authorization.k8s.io/v1/SelfSubjectRulesReview': msg({ 1: META, 2: { name: 'spec', type: msg({ 1: str('namespace') }) } }),
  'authentication.k8s.io/v1/SelfSubjectReview': msg({ 1: META }),
  'authentication.k8s.io/v1/TokenRequest': msg({
    1: META,
    2: {
      name: 'spec',
      type: msg({
        1: str('audiences', true),
        3: { name: 'boundObjectRef', type: msg({ 1: str('kind'), 2: str('apiVersion'), 3: str('name'), 4: str('uid') }) },
        4: { name: 'expirationSeconds', type: 'int64' },
      }),
    },
  }),
  'v1/Namespace': msg({ 1: META, 2: { name: 'spec', type: msg({ 1: str('finalizers', true) }) } }),
  'v1/ConfigMap': msg({ 1: META, 2: { name: 'data', type: { map: 'string' } }, 3: { name: 'binaryData', type: { map: 'bytes' } }, 4: { name: 'immutable', type: 'bool' } }),
  'v1/Secret': msg({
    1: META,
    2: { name: 'data', type: { map: 'bytes' } },
    3: str('type'),
    4: { name: 'stringData', type: { map: 'string' } },
    5: { name: 'immutable', type: 'bool' },
  }),
  'v1/ServiceAccount': msg({
    1: META,
    2: { name: 'secrets', type: msg({ 1: str('kind'), 2: str('namespace'), 3: str('name'), 4: str('uid'), 5: str('apiVersion') }), repeated: true },
    3: { name: 'imagePullSecrets', type: msg({ 1: str('name') }), repeated: true },
    4: { name: 'automountServiceAccountToken', type: 'bool' },
  }),
  'rbac.authorization.k8s.io/v1/Role': ROLE,
  'rbac.authorization.k8s.io/v1/ClusterRole': ROLE,
  'rbac.authorization.k8s.io/v1/RoleBinding': BINDING,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': BINDING,
};

export class ProtobufError extends Error {}

/** A cursor over protobuf wire data. */
class Reader {
  private readonly buffer: Buffer;
  private offset = 0;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  get done(): boolean {
    return this.offset >= this.buffer.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.offset >= this.buffer.length) throw new ProtobufError('truncated varint');
      const byte = this.buffer[this.offset++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtobufError('varint too long');
    }
  }

  bytes(): Buffer {
    const length = Number(this.varint());
    if (this.offset + length > this.buffer.length) throw new ProtobufError('truncated field');
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.offset += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.offset += 4;
    else throw new ProtobufError(`unsupported wire type ${wireType}`);
  }
}

function scalar(type: Scalar, reader: Reader, wireType: number): JsonValue {
  switch (type) {
    case 'string':
      return reader.bytes().toString('utf8');
    case 'bytes':
      return reader.bytes().toString('base64');
    case 'bool':
      return reader.varint() !== 0n;
    case 'int64':
      if (wireType !== 0) throw new ProtobufError('int64 field is not a varint');
      return Number(BigInt.asIntN(64, reader.varint()));
  }
}

function value(type: Scalar | Message, reader: Reader, wireType: number): JsonValue {
  if (typeof type === 'string') return scalar(type, reader, wireType);
  const decoded = decodeMessage(reader.bytes(), type);
  return type === EXTRA_VALUE ? (decoded.items ?? []) : decoded;
}

function decodeMessage(buffer: Buffer, message: Message): JsonObject {
  const reader = new Reader(buffer);
  const out: JsonObject = {};
  while (!reader.done) {
    const tag = Number(reader.varint());
    const fieldNumber = tag >>> 3;
    const wireType = tag & 7;
    const field = message.fields[fieldNumber];
    if (field === undefined) {
      reader.skip(wireType);
      continue;
    }
    const { type } = field;
    if (typeof type === 'object' && 'map' in type) {
      const entry = new Reader(reader.bytes());
      let key = '';
      let entryValue: JsonValue = type.map === 'string' || type.map === 'bytes' ? '' : null;
      while (!entry.done) {
        const entryTag = Number(entry.varint());
        if (entryTag >>> 3 === 1) key = entry.bytes().toString('utf8');
        else if (entryTag >>> 3 === 2) entryValue = value(type.map, entry, entryTag & 7);
        else entry.skip(entryTag & 7);
      }
      const map = (out[field.name] ?? {}) as JsonObject;
      map[key] = entryValue;
      out[field.name] = map;
    } else if (field.repeated === true) {
      const list = (out[field.name] ?? []) as JsonValue[];
      list.push(value(type, reader, wireType));
      out[field.name] = list;
    } else {
      out[field.name] = value(type, reader, wireType);
    }
  }
  return out;
}

/** The JSON form of a protobuf body; throws ProtobufError when it is malformed, or of a kind this reader does not know. */
export function decodeKubeProtobuf(body: Buffer): JsonObject {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) throw new ProtobufError('not a Kubernetes protobuf body');
  const unknown = decodeMessage(body.subarray(MAGIC.length), msg({ 1: { name: 'typeMeta', type: msg({ 1: str('apiVersion'), 2: str('kind') }) }, 2: { name: 'raw', type: 'bytes' } }));
  const typeMeta = (unknown.typeMeta ?? {}) as JsonObject;
  const apiVersion = typeof typeMeta.apiVersion === 'string' ? typeMeta.apiVersion : '';
  const kind = typeof typeMeta.kind === 'string' ? typeMeta.kind : '';
  const message = KINDS[`${apiVersion}/${kind}`];
  if (message === undefined) throw new ProtobufError(`no protobuf support for ${apiVersion}, Kind=${kind}`);
  const raw = Buffer.from(typeof unknown.raw === 'string' ? unknown.raw : '', 'base64');
  return { apiVersion, kind, ...decodeMessage(raw, message) };
}
