import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeKubeProtobuf, ProtobufError } from '../../lab/emulator/protobuf.ts';

/** A protobuf encoder just big enough to build what kubectl sends. */
function varint(n: number): Buffer {
  const bytes: number[] = [];
  let rest = n;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
const bytesField = (n: number, payload: Buffer | string) => {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([varint((n << 3) | 2), varint(body.length), body]);
};
const varintField = (n: number, value: number) => Buffer.concat([varint(n << 3), varint(value)]);
const message = (...fields: Buffer[]) => Buffer.concat(fields);
const mapEntry = (n: number, key: string, value: Buffer | string) => bytesField(n, message(bytesField(1, key), bytesField(2, value)));
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from('k8s\0'), bytesField(1, message(bytesField(1, apiVersion), bytesField(2, kind))), bytesField(2, raw)]);

describe('Kubernetes protobuf request bodies', () => {
  it('reads a SelfSubjectAccessReview as kubectl auth can-i sends it', () => {
    const attributes = message(bytesField(1, 'cw'), bytesField(2, 'list'), bytesField(3, 'clusterwire.io'), bytesField(5, 'peerslices'));
    const body = envelope('authorization.k8s.io/v1', 'SelfSubjectAccessReview', message(bytesField(1, message()), bytesField(2, message(bytesField(1, attributes)))));
    assert.deepEqual(decodeKubeProtobuf(body), {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: {},
      spec: { resourceAttributes: { namespace: 'cw', verb: 'list', group: 'clusterwire.io', resource: 'peerslices' } },
    });
  });

  it('reads a TokenRequest with its int64 and repeated fields, and skips fields it does not know', () => {
    const spec = message(bytesField(1, 'aud-1'), bytesField(1, 'aud-2'), varintField(4, 7200), varintField(9, 1));
    const body = envelope('authentication.k8s.io/v1', 'TokenRequest', message(bytesField(1, message(bytesField(1, 'reader'))), bytesField(2, spec)));
    assert.deepEqual(decodeKubeProtobuf(body), {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name: 'reader' },
      spec: { audiences: ['aud-1', 'aud-2'], expirationSeconds: 7200 },
    });
  });

  it('reads maps: labels, ConfigMap data, Secret bytes as base64', () => {
    const meta = message(bytesField(1, 's1'), bytesField(3, 'ns'), mapEntry(11, 'app', 'x'));
    const secret = envelope('v1', 'Secret', message(bytesField(1, meta), mapEntry(2, 'key', Buffer.from([0, 255])), bytesField(3, 'Opaque')));
    assert.deepEqual(decodeKubeProtobuf(secret), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', namespace: 'ns', labels: { app: 'x' } }, data: { key: 'AP8=' }, type: 'Opaque' });
    const map = envelope('v1', 'ConfigMap', message(bytesField(1, message(bytesField(1, 'c'))), mapEntry(2, 'a', 'b'), varintField(4, 1)));
    assert.deepEqual(decodeKubeProtobuf(map), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' }, immutable: true });
  });

  it('refuses kinds it cannot read and bodies that are not kube protobuf', () => {
    assert.throws(() => decodeKubeProtobuf(envelope('apps/v1', 'Deployment', message())), (e: unknown) => e instanceof ProtobufError && /apps\/v1, Kind=Deployment/.test(e.message));
    assert.throws(() => decodeKubeProtobuf(Buffer.from('{"kind":"x"}')), ProtobufError);
    assert.throws(() => decodeKubeProtobuf(Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0x0a, 0x10])])), ProtobufError);
  });
});
