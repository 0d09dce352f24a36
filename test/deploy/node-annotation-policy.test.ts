/**
 * deploy/local/components/node-annotation-policy: the manifests validate,
 * and the policy's CEL, evaluated by a CEL implementation
 * (@marcbachmann/cel-js) with the ValidatingAdmissionPolicy's steps
 * (matchConstraints, matchConditions, variables, validations), gives the
 * expected verdict for a table of sample requests.
 *
 * Not tested here, for want of a real apiserver: the apiserver's own
 * compilation of the expressions (cel-go, typed against the Node schema,
 * with its cost limits), the authenticator setting
 * authentication.kubernetes.io/node-name on the kubelet's projected token,
 * and a merge patch arriving as this oldObject/object pair.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Environment } from '@marcbachmann/cel-js';
import { readManifests, type Manifest } from './support/manifests.ts';
import { DEPLOY_DIR } from './support/repo.ts';
import { validateManifest } from './support/validate-manifest.ts';

const DIR = join(DEPLOY_DIR, 'local', 'components', 'node-annotation-policy');
const SERVICE_ACCOUNT = 'system:serviceaccount:clusterwire:clusterwire';
const DOMAIN = 'wireguard.semaphore.uw.io';

interface Named {
  name: string;
  expression: string;
}
interface Policy {
  spec: {
    matchConstraints: { resourceRules: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }[] };
    matchConditions: Named[];
    variables: Named[];
    validations: { expression: string; message?: string; messageExpression?: string }[];
  };
}

const [policyManifest] = await readManifests(join(DIR, 'policy.yaml'));
const [bindingManifest] = await readManifests(join(DIR, 'binding.yaml'));
const policy = policyManifest as Manifest & Policy;

interface Node {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[]; ownerReferences?: unknown[] };
  spec: Record<string, unknown>;
}
interface Request {
  operation: 'UPDATE' | 'CREATE' | 'DELETE';
  resource: string;
  userInfo: { username: string; extra: Record<string, string[]> };
  oldObject: Node;
  object: Node;
}

type Verdict = { allowed: true; matched: boolean } | { allowed: false; message: string };

const env = new Environment({ unlistedVariablesAreDyn: true });

/** The apiserver's steps for one policy (docs: ValidatingAdmissionPolicy), with CEL evaluated by cel-js. */
function admit(request: Request): Verdict {
  const { spec } = policy;
  const rule = spec.matchConstraints.resourceRules.some((r) => r.resources.includes(request.resource) && r.operations.includes(request.operation));
  const base = { request: { userInfo: request.userInfo, operation: request.operation }, object: request.object, oldObject: request.oldObject };
  if (!rule || !spec.matchConditions.every((c) => env.evaluate(c.expression, base) === true)) return { allowed: true, matched: false };
  const variables: Record<string, unknown> = {};
  for (const v of spec.variables) variables[v.name] = env.evaluate(v.expression, { ...base, variables });
  for (const validation of spec.validations) {
    const result: unknown = env.evaluate(validation.expression, { ...base, variables });
    assert.equal(typeof result, 'boolean', `${validation.expression} is a bool`);
    if (result !== true) {
      const message = validation.messageExpression === undefined ? (validation.message ?? '') : String(env.evaluate(validation.messageExpression, { ...base, variables }));
      return { allowed: false, message };
    }
  }
  return { allowed: true, matched: true };
}

const key = (remote: string, what: 'pubKey' | 'endpoint') => `${remote}.${DOMAIN}/${what}`;
const n1: Node = {
  metadata: {
    name: 'n1',
    labels: { 'kubernetes.io/hostname': 'n1', 'kubernetes.io/os': 'linux' },
    annotations: { 'node.alpha.kubernetes.io/ttl': '0', [key('c2', 'pubKey')]: 'OLDKEY=', [key('c2', 'endpoint')]: '198.18.0.11:51821' },
  },
  spec: { podCIDR: '10.1.1.0/24', podCIDRs: ['10.1.1.0/24'] },
};

/** n1 changed by `change`, which gets a deep copy. */
function changed(change: (node: Node) => void, from: Node = n1): Node {
  const copy = structuredClone(from);
  change(copy);
  return copy;
}

const daemonOn = (node: string | null): Request['userInfo'] => ({ username: SERVICE_ACCOUNT, extra: node === null ? {} : { 'authentication.kubernetes.io/node-name': [node], 'authentication.kubernetes.io/pod-name': ['clusterwire-abcde'] } });
const update = (userInfo: Request['userInfo'], object: Node, oldObject: Node = n1): Request => ({ operation: 'UPDATE', resource: 'nodes', userInfo, oldObject, object });

describe('the node annotation policy', () => {
  test('the policy and its binding validate (kubernetes-models), and the binding names the policy', () => {
    assert.ok(policyManifest && bindingManifest);
    validateManifest(policyManifest);
    validateManifest(bindingManifest);
    assert.equal((bindingManifest as Manifest & { spec: { policyName: string; validationActions: string[] } }).spec.policyName, policyManifest.metadata?.name);
    assert.deepEqual((bindingManifest as Manifest & { spec: { validationActions: string[] } }).spec.validationActions, ['Deny']);
  });

  test('every expression parses and type-checks as CEL', () => {
    const all = [...policy.spec.matchConditions, ...policy.spec.variables, ...policy.spec.validations.flatMap((v) => [{ name: 'validation', expression: v.expression }, ...(v.messageExpression ? [{ name: 'message', expression: v.messageExpression }] : [])])];
    for (const { expression } of all) assert.doesNotThrow(() => env.parse(expression).check(), expression);
  });

  const cases: [name: string, request: Request, allowed: boolean, message?: RegExp][] = [
    ['the daemon sets a new key and endpoint on its own Node', update(daemonOn('n1'), changed((n) => Object.assign(n.metadata.annotations ?? {}, { [key('c2', 'pubKey')]: 'NEWKEY=', [key('c2', 'endpoint')]: '198.18.0.11:51822' }))), true],
    ['the daemon adds the annotations of a new remote', update(daemonOn('n1'), changed((n) => Object.assign(n.metadata.annotations ?? {}, { [key('c3', 'pubKey')]: 'K3=', [key('c3', 'endpoint')]: '198.18.0.11:51823' }))), true],
    ['cleanup removes its annotations from its own Node', update(daemonOn('n1'), changed((n) => { n.metadata.annotations = { 'node.alpha.kubernetes.io/ttl': '0' }; })), true],
    ['the first annotations on a Node that had none', update(daemonOn('n1'), changed((n) => { n.metadata.annotations = { [key('c2', 'pubKey')]: 'K=' }; }), changed((n) => { delete n.metadata.annotations; })), true],
    ['an update that changes nothing', update(daemonOn('n1'), n1), true],
    ['the daemon of n1 changes the key of n2', update(daemonOn('n1'), changed((n) => { n.metadata.name = 'n2'; Object.assign(n.metadata.annotations ?? {}, { [key('c2', 'pubKey')]: 'EVIL=' }); }), changed((n) => { n.metadata.name = 'n2'; })), false, /only the Node its pod runs on \(n1\), not n2/],
    ['a token without the node name (a legacy Secret token)', update(daemonOn(null), changed((n) => Object.assign(n.metadata.annotations ?? {}, { [key('c2', 'pubKey')]: 'NEWKEY=' }))), false, /unknown: the token carries no node name/],
    ['another annotation changed', update(daemonOn('n1'), changed((n) => Object.assign(n.metadata.annotations ?? {}, { 'node.alpha.kubernetes.io/ttl': '30' }))), false, /only the <remote>.<domain>\/pubKey and \/endpoint annotations/],
    ['another annotation added', update(daemonOn('n1'), changed((n) => Object.assign(n.metadata.annotations ?? {}, { 'example.com/owner': 'me' }))), false, /annotations/],
    ['another annotation removed', update(daemonOn('n1'), changed((n) => { delete n.metadata.annotations?.['node.alpha.kubernetes.io/ttl']; })), false, /annotations/],
    ['every annotation removed', update(daemonOn('n1'), changed((n) => { delete n.metadata.annotations; })), false, /annotations/],
    ['a pubKey annotation of another domain', update(daemonOn('n1'), changed((n) => Object.assign(n.metadata.annotations ?? {}, { 'c2.example.com/pubKey': 'K=' }))), false, /annotations/],
    ['a key that only starts like ours', update(daemonOn('n1'), changed((n) => Object.assign(n.metadata.annotations ?? {}, { [`${key('c2', 'pubKey')}X`]: 'K=' }))), false, /annotations/],
    ['a label added', update(daemonOn('n1'), changed((n) => Object.assign(n.metadata.labels ?? {}, { 'node-role.kubernetes.io/control-plane': '' }))), false, /labels/],
    ['every label removed', update(daemonOn('n1'), changed((n) => { delete n.metadata.labels; })), false, /labels/],
    ['a finalizer added', update(daemonOn('n1'), changed((n) => { n.metadata.finalizers = ['example.com/hold']; })), false, /finalizers/],
    ['a taint added', update(daemonOn('n1'), changed((n) => { n.spec.taints = [{ key: 'k', effect: 'NoSchedule' }]; })), false, /spec/],
    ['the node made unschedulable', update(daemonOn('n1'), changed((n) => { n.spec.unschedulable = true; })), false, /spec/],
    ['a pod CIDR changed', update(daemonOn('n1'), changed((n) => { n.spec.podCIDRs = ['10.9.0.0/16']; })), false, /spec/],
    ['the kubelet (not matched) changes labels', update({ username: 'system:node:n1', extra: {} }, changed((n) => Object.assign(n.metadata.labels ?? {}, { a: 'b' }))), true],
    ['an administrator (not matched) changes another annotation', update({ username: 'kubernetes-admin', extra: {} }, changed((n) => Object.assign(n.metadata.annotations ?? {}, { 'example.com/owner': 'me' }))), true],
    ['a service account of another namespace (not matched)', update({ username: 'system:serviceaccount:other:clusterwire', extra: {} }, changed((n) => { n.spec.unschedulable = true; })), true],
  ];
  for (const [name, request, allowed, message] of cases) {
    test(`${allowed ? 'allows' : 'denies'}: ${name}`, () => {
      const verdict = admit(request);
      assert.equal(verdict.allowed, allowed, JSON.stringify(verdict));
      if (!verdict.allowed && message) assert.match(verdict.message, message);
      if (verdict.allowed && request.userInfo.username === SERVICE_ACCOUNT) assert.ok(verdict.matched, 'the policy applied to the daemon');
    });
  }

  test('only Node updates are matched: the daemon creates and deletes no Node (RBAC refuses those)', () => {
    assert.deepEqual(policy.spec.matchConstraints.resourceRules, [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['nodes'] }]);
    assert.equal(policy.spec.variables.find((v) => v.name === 'domain')?.expression, `'${DOMAIN}'`, 'the default annotationDomain');
  });
});
