import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ANONYMOUS, authenticate, parseTokenFile } from '../../lab/emulator/auth.ts';
import { subjectAltNames } from '../../lab/emulator/certificates.ts';
import { controlAction } from '../../lab/emulator/control-api.ts';
import { parseReadyLine } from '../../lab/emulator/control-client.ts';
import { dueHeartbeats, heartbeatNode } from '../../lab/emulator/heartbeats.ts';
import { formatIpv4, nthHost, nthSubnet, parseIpv4, parseIpv4Cidr } from '../../lab/emulator/ipv4.ts';
import type { JsonObject } from '../../lab/emulator/json.ts';
import { hostPortURL, renderKubeconfig } from '../../lab/emulator/kubeconfig.ts';
import { parseMainArgs } from '../../lab/emulator/main-args.ts';
import { negotiate, negotiateDiscovery } from '../../lab/emulator/negotiation.ts';
import { nodeCells } from '../../lab/emulator/node-table.ts';
import { derivedPublicKey, realisticNode, seedNode } from '../../lab/emulator/nodes.ts';
import { requestInfo } from '../../lab/emulator/request-info.ts';
import { ApiError } from '../../lab/emulator/status.ts';
import { humanDuration } from '../../lab/emulator/tables.ts';

describe('realistic nodes', () => {
  it('weigh about 15 KB of compact JSON, with 50 images and 5 conditions', () => {
    const node = realisticNode({ name: 'ip-10-0-12-34.eu-west-1.compute.internal', podCIDR: '10.4.1.0/24' });
    const size = JSON.stringify(node).length;
    assert.ok(size > 12_000 && size < 20_000, `size ${size}`);
    const status = node.status as JsonObject;
    assert.equal((status.images as unknown[]).length, 50);
    assert.equal((status.conditions as unknown[]).length, 5);
    assert.deepEqual(
      (status.addresses as JsonObject[]).map((a) => a.type),
      ['InternalIP', 'Hostname'],
    );
    assert.deepEqual((node.spec as JsonObject).podCIDRs, ['10.4.1.0/24']);
  });

  it('seed distinct names, pod CIDRs, addresses and keys, and fill annotation templates', () => {
    const spec = { annotations: { 'c1.example/pubKey': '{key}', 'c1.example/endpoint': '{internalIP}:51820' } };
    const nodes = [0, 1, 255, 256].map((i) => seedNode(spec, i));
    const meta = nodes.map((n) => n.metadata as JsonObject);
    assert.deepEqual(meta.map((m) => m.name), ['node-00000', 'node-00001', 'node-00255', 'node-00256']);
    assert.deepEqual(nodes.map((n) => (n.spec as JsonObject).podCIDR), ['10.128.0.0/24', '10.128.1.0/24', '10.128.255.0/24', '10.129.0.0/24']);
    const annotations = meta.map((m) => m.annotations as Record<string, string>);
    assert.equal(annotations[2]?.['c1.example/endpoint'], '198.19.1.0:51820');
    assert.equal(annotations[0]?.['c1.example/pubKey'], derivedPublicKey('node-00000'));
    assert.equal(Buffer.from(derivedPublicKey('x'), 'base64').length, 32);
    assert.equal(new Set(annotations.map((a) => a['c1.example/pubKey'])).size, 4);
  });

  it('carve addresses and subnets out of IPv4 blocks', () => {
    assert.equal(formatIpv4(parseIpv4('198.18.3.4')), '198.18.3.4');
    assert.deepEqual(parseIpv4Cidr('10.4.7.9/16'), { base: parseIpv4('10.4.0.0'), prefixLength: 16 });
    assert.equal(nthSubnet(parseIpv4Cidr('10.4.0.0/16'), 24, 3), '10.4.3.0/24');
    assert.throws(() => nthSubnet(parseIpv4Cidr('10.4.0.0/16'), 24, 256));
    assert.equal(nthHost(parseIpv4Cidr('198.19.0.0/16'), 0), '198.19.0.1');
    assert.throws(() => parseIpv4('1.2.3.256'));
  });
});

describe('heartbeats', () => {
  it('are due at the configured rate, carrying fractions between ticks', () => {
    let carry = 0;
    let total = 0;
    for (let tick = 0; tick < 100; tick++) {
      const due = dueHeartbeats(333, 10, carry);
      carry = due.carry;
      total += due.count;
    }
    assert.equal(total, 333);
    assert.deepEqual(dueHeartbeats(1000, 10, 0), { count: 10, carry: 0 });
  });

  it('move every condition’s lastHeartbeatTime forward and nothing else', () => {
    const node = realisticNode({ name: 'n1' });
    const now = Date.parse('2026-01-01T00:00:10.600Z');
    const beat = heartbeatNode(node, now);
    const times = ((beat.status as JsonObject).conditions as JsonObject[]).map((c) => c.lastHeartbeatTime);
    assert.deepEqual(new Set(times), new Set(['2026-01-01T00:00:10Z']));
    assert.equal(beat.metadata, node.metadata);
    assert.equal(beat.spec, node.spec);
    assert.equal((beat.status as JsonObject).images, (node.status as JsonObject).images);
    // Two beats within a second still differ: times have one-second precision.
    const again = heartbeatNode(beat, now);
    assert.equal(((again.status as JsonObject).conditions as JsonObject[])[0]?.lastHeartbeatTime, '2026-01-01T00:00:11Z');
  });
});

describe('authentication', () => {
  const users = parseTokenFile('# comment\ntok-1,admin,admin,"system:masters,ops"\n\ntok-2,reader,reader-uid\n');
  const noServiceAccounts = () => null;
  it('reads kube static token files, groups included', () => {
    assert.deepEqual([...users.keys()], ['tok-1', 'tok-2']);
    assert.deepEqual(users.get('tok-1'), { name: 'admin', uid: 'admin', groups: ['system:masters', 'ops', 'system:authenticated'] });
  });
  it('authenticates bearer tokens, anonymous without one, 401 otherwise', () => {
    assert.deepEqual(authenticate('Bearer tok-2', users, noServiceAccounts), { name: 'reader', uid: 'reader-uid', groups: ['system:authenticated'] });
    assert.equal(authenticate(undefined, users, noServiceAccounts), ANONYMOUS);
    const bad = authenticate('Bearer nope', users, noServiceAccounts);
    assert.ok(bad instanceof ApiError && bad.code === 401 && bad.status.reason === 'Unauthorized');
    const basic = authenticate('Basic dXNlcjpwYXNz', users, noServiceAccounts);
    assert.ok(basic instanceof ApiError && basic.code === 401);
    const account = { name: 'system:serviceaccount:ns:sa', uid: 'u', groups: [] };
    assert.equal(authenticate('Bearer jwt', users, (token) => (token === 'jwt' ? account : null)), account);
  });
});

describe('request routing and negotiation', () => {
  const q = (text = '') => new URLSearchParams(text);
  it('resolves kube verbs, groups, namespaces, names and subresources as RequestInfoFactory does', () => {
    const resource = (verb: string, group: string, version: string, namespace: string, resource: string, name = '', subresource = '') => ({
      kind: 'resource',
      verb,
      group,
      version,
      namespace,
      resource,
      name,
      subresource,
      tooDeep: false,
    });
    const cases: [string, string, string, object][] = [
      ['GET', '/api/v1/nodes', '', resource('list', '', 'v1', '', 'nodes')],
      ['GET', '/api/v1/nodes', 'watch=true', resource('watch', '', 'v1', '', 'nodes')],
      ['GET', '/api/v1/nodes', 'watch=1', resource('watch', '', 'v1', '', 'nodes')],
      ['POST', '/api/v1/nodes', '', resource('create', '', 'v1', '', 'nodes')],
      ['PATCH', '/api/v1/nodes/n1', '', resource('patch', '', 'v1', '', 'nodes', 'n1')],
      ['PUT', '/api/v1/nodes/n1/status', '', resource('update', '', 'v1', '', 'nodes', 'n1', 'status')],
      ['DELETE', '/api/v1/nodes/n1', '', resource('delete', '', 'v1', '', 'nodes', 'n1')],
      ['DELETE', '/api/v1/namespaces/ns/configmaps', '', resource('deletecollection', '', 'v1', 'ns', 'configmaps')],
      ['GET', '/api/v1/namespaces/ns', '', resource('get', '', 'v1', 'ns', 'namespaces', 'ns')],
      ['PUT', '/api/v1/namespaces/ns/status', '', resource('update', '', 'v1', 'ns', 'namespaces', 'ns', 'status')],
      ['GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', 'watch=true&fieldSelector=metadata.name%3Dleader', resource('watch', 'coordination.k8s.io', 'v1', 'kube-system', 'leases', 'leader')],
      ['POST', '/api/v1/namespaces/ns/serviceaccounts/sa/token', '', resource('create', '', 'v1', 'ns', 'serviceaccounts', 'sa', 'token')],
      ['GET', '/apis/clusterwire.io/v1alpha1/peerslices', '', resource('list', 'clusterwire.io', 'v1alpha1', '', 'peerslices')],
    ];
    for (const [method, path, query, expected] of cases) assert.deepEqual(requestInfo(method, path, q(query)), expected, `${method} ${path}?${query}`);
    assert.equal((requestInfo('GET', '/api/v1/nodes/n1/proxy/x', q()) as { tooDeep: boolean }).tooDeep, true);
    for (const path of ['/version', '/api', '/api/v1', '/apis', '/apis/rbac.authorization.k8s.io', '/apis/rbac.authorization.k8s.io/v1', '/openapi/v3', '/api/v1/nodes/%E0%A4%A']) {
      assert.deepEqual(requestInfo('GET', path, q()), { kind: 'nonResource', path, verb: 'get' });
    }
  });
  it('negotiates JSON or Tables from Accept headers', () => {
    const kubectl = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
    assert.deepEqual(negotiate(kubectl, true), { kind: 'table', version: 'meta.k8s.io/v1' });
    assert.deepEqual(negotiate(kubectl, false), { kind: 'json' });
    assert.deepEqual(negotiate(undefined, true), { kind: 'json' });
    assert.deepEqual(negotiate('application/json, */*', true), { kind: 'json' });
    assert.equal(negotiate('application/vnd.kubernetes.protobuf', true), null);
    assert.equal(negotiate('application/json;as=Unknown;v=v1;g=meta.k8s.io', true), null);
    assert.equal(negotiate('application/json;as=Table;v=v2;g=meta.k8s.io', true), null);
  });
  it('negotiates PartialObjectMetadata(List) in meta.k8s.io v1 and v1beta1, for reads and writes', () => {
    assert.deepEqual(negotiate('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', true), { kind: 'metadata', version: 'meta.k8s.io/v1' });
    assert.deepEqual(negotiate('application/json;as=PartialObjectMetadataList;v=v1beta1;g=meta.k8s.io', false), { kind: 'metadata-list', version: 'meta.k8s.io/v1beta1' });
    assert.equal(negotiate('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2', true), null);
    assert.equal(negotiate('application/json;as=PartialObjectMetadata;g=example.com;v=v1', true), null);
    // client-go's metadata client lists fallbacks after its first choice.
    assert.deepEqual(negotiate('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2,application/json', true), { kind: 'json' });
  });
  it('negotiates aggregated discovery for kubectl, legacy discovery for others', () => {
    const kubectl = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
    assert.equal(negotiateDiscovery(kubectl), 'v2');
    assert.equal(negotiateDiscovery('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList'), 'v2beta1');
    assert.equal(negotiateDiscovery('application/json'), 'legacy');
    assert.equal(negotiateDiscovery(undefined), 'legacy');
    assert.equal(negotiateDiscovery('application/vnd.kubernetes.protobuf'), null);
  });
});

describe('printing and files', () => {
  it('shows ages the way kubectl does', () => {
    const s = 1000;
    const cases: [number, string][] = [
      [-5 * s, '<invalid>'],
      [59 * s, '59s'],
      [119 * s, '119s'],
      [150 * s, '2m30s'],
      [600 * s, '10m'],
      [3 * 3600 * s + 5 * 60 * s, '3h5m'],
      [30 * 3600 * s, '30h'],
      [(3 * 24 + 4) * 3600 * s, '3d4h'],
      [400 * 24 * 3600 * s, '400d'],
      [(3 * 365 + 10) * 24 * 3600 * s, '3y10d'],
    ];
    for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, `${ms} ms`);
  });

  it('fills node table cells', () => {
    const node = realisticNode({ name: 'n1', internalIP: '198.18.0.7', labels: { 'node-role.kubernetes.io/control-plane': '' } });
    (node.metadata as JsonObject).creationTimestamp = '2026-01-01T00:00:00Z';
    const cells = nodeCells(node, Date.parse('2026-01-01T00:00:30Z'));
    assert.deepEqual(cells.slice(0, 6), ['n1', 'Ready', 'control-plane', '30s', 'v1.32.4', '198.18.0.7']);
  });

  it('names every host the server certificate must be valid for', () => {
    assert.equal(subjectAltNames('198.18.1.1'), 'DNS:localhost,IP:127.0.0.1,IP:198.18.1.1');
    assert.equal(subjectAltNames('0.0.0.0'), 'DNS:localhost,IP:127.0.0.1');
    assert.equal(subjectAltNames('api.c2.lab'), 'DNS:localhost,IP:127.0.0.1,DNS:api.c2.lab');
    assert.equal(subjectAltNames('fd00:18::1'), 'DNS:localhost,IP:127.0.0.1,IP:fd00:18::1');
  });

  it('writes a kubectl kubeconfig with a CA file and a token file', () => {
    const config = JSON.parse(
      renderKubeconfig({ clusterName: 'c2', server: 'https://198.18.1.1:6443', caFile: '/d/ca.crt', tokenFile: '/d/token' }),
    ) as { clusters: { cluster: object }[]; users: { user: object }[]; 'current-context': string };
    assert.deepEqual(config.clusters[0]?.cluster, { server: 'https://198.18.1.1:6443', 'certificate-authority': '/d/ca.crt' });
    assert.deepEqual(config.users[0]?.user, { tokenFile: '/d/token' });
    assert.equal(config['current-context'], 'c2');
    assert.equal(hostPortURL('https', 'fd00:18::1', 443), 'https://[fd00:18::1]:443');
  });
});

describe('standalone entry and control API', () => {
  it('parses the command line, Go-style flags included', () => {
    const args = parseMainArgs(['--dir', '/d', '--host=198.18.1.1', '--port', '6443', '-ca-port', '8080', '--control-socket', '/c.sock', '--seed', '10']);
    assert.deepEqual(args, { dir: '/d', host: '198.18.1.1', port: 6443, caPort: 8080, controlSocket: '/c.sock', seed: 10 });
    assert.throws(() => parseMainArgs(['--dir', '/d']), /missing --host, --port, --ca-port, --control-socket/);
    assert.throws(() => parseMainArgs(['--dir', '/d', '--bogus', '1']), /unknown flag --bogus/);
    assert.throws(
      () => parseMainArgs(['--dir', '/d', '--host', 'h', '--port', 'x', '--ca-port', '0', '--control-socket', '/c']),
      /--port must be an integer/,
    );
    assert.throws(() => parseMainArgs(['--dir']), /--dir needs a value/);
  });

  it('maps control requests to emulator methods', () => {
    assert.deepEqual(controlAction('POST', '/seed'), { kind: 'seed' });
    assert.deepEqual(controlAction('PATCH', '/nodes/n%2F1'), { kind: 'patchNode', name: 'n/1' });
    assert.deepEqual(controlAction('DELETE', '/heartbeats'), { kind: 'stopHeartbeats' });
    assert.deepEqual(controlAction('PUT', '/objects/status'), { kind: 'updateObjectStatus' });
    assert.deepEqual(controlAction('GET', '/requests'), { kind: 'requests' });
    assert.equal(controlAction('POST', '/nodes/n1'), null);
    assert.equal(controlAction('GET', '/nope'), null);
  });

  it('reads the ready line', () => {
    const line = '{"url":"https://h:1","caURL":"http://h:2/ca.crt","kubeconfigPath":"/k","tokenPath":"/t"}';
    assert.deepEqual(parseReadyLine(line), { url: 'https://h:1', caURL: 'http://h:2/ca.crt', kubeconfigPath: '/k', tokenPath: '/t' });
    assert.throws(() => parseReadyLine('{"url":"x"}'), /lacks/);
    assert.throws(() => parseReadyLine('starting...'), /not JSON/);
  });
});
