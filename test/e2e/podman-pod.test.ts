import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IDaemonSet } from 'kubernetes-models/apps/v1';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import { findOne, hasKubectl, renderKustomization } from '../deploy/support/manifests.ts';
import { DEPLOY_DIR } from '../deploy/support/repo.ts';
import { cpuShares, memoryBytes, milliCPU, podmanContainer, UnsupportedPodSpecError, type PodNode } from '../../lab/podman-pod.ts';

const NODE: PodNode = {
  nodeName: 'c1-n3',
  networkNamespace: '/run/netns/cwlab64-c1-n3',
  hostPath: (path) => (path.startsWith('/dev/') ? path : `/lab/node${path}`),
  configMaps: { 'config-abc': '/lab/configmap' },
  secrets: { tokens: '/lab/secret' },
  apiServer: { host: '198.18.64.1', port: 6443 },
  serviceAccountDirectory: '/lab/sa',
};

/** The smallest DaemonSet the translation accepts; cases change one thing. */
function daemonSet(pod: Partial<IPodSpec> = {}, container: Partial<IContainer> = {}): IDaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'clusterwire', namespace: 'clusterwire' },
    spec: {
      selector: { matchLabels: { app: 'x' } },
      template: {
        metadata: { labels: { app: 'x' } },
        spec: {
          hostNetwork: true,
          volumes: [],
          ...pod,
          containers: [
            {
              name: 'clusterwire',
              image: 'clusterwire:0.1.0',
              ports: [{ name: 'http', containerPort: 7773 }],
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
              readinessProbe: { httpGet: { path: '/readyz', port: 7773 } },
              securityContext: { allowPrivilegeEscalation: false, seccompProfile: { type: 'RuntimeDefault' } },
              ...container,
            },
          ],
        },
      },
    },
  };
}

/** The options every accepted DaemonSet gets. */
const BASE_OPTIONS = [
  '--network', 'ns:/run/netns/cwlab64-c1-n3',
  '-v', '/lab/sa:/var/run/secrets/kubernetes.io/serviceaccount:ro',
  '--env', 'KUBERNETES_SERVICE_HOST=198.18.64.1',
  '--env', 'KUBERNETES_SERVICE_PORT=6443',
  '--security-opt', 'no-new-privileges',
];

describe('podmanContainer: a DaemonSet container as podman run options', () => {
  test('the smallest accepted DaemonSet: host network, service account, probes by port name or number', () => {
    const result = podmanContainer(daemonSet(), 'clusterwire', NODE);
    assert.deepEqual(result.options, BASE_OPTIONS);
    assert.equal(result.image, 'clusterwire:0.1.0');
    assert.deepEqual(result.liveness, { path: '/healthz', port: 7773 });
    assert.deepEqual(result.readiness, { path: '/readyz', port: 7773 });
  });

  const translated: [what: string, pod: Partial<IPodSpec>, container: Partial<IContainer>, options: string[], extra?: object][] = [
    ['automountServiceAccountToken: false mounts no token', { automountServiceAccountToken: false }, {}, ['--network', 'ns:/run/netns/cwlab64-c1-n3', '--security-opt', 'no-new-privileges']],
    ['terminationGracePeriodSeconds → --stop-timeout', { terminationGracePeriodSeconds: 10 }, {}, ['--network', 'ns:/run/netns/cwlab64-c1-n3', '--stop-timeout', '10', ...BASE_OPTIONS.slice(2)]],
    ['env: values and spec.nodeName', {}, { env: [{ name: 'A', value: 'b' }, { name: 'SWG_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }] }, [...BASE_OPTIONS.slice(0, 8), '--env', 'A=b', '--env', 'SWG_NODE_NAME=c1-n3', ...BASE_OPTIONS.slice(8)]],
    [
      'resources: cpu request → shares as the kubelet computes them, memory limit → --memory without swap, memory request → nothing',
      {},
      { resources: { requests: { cpu: '20m', memory: '128Mi' }, limits: { memory: '768Mi' } } },
      [...BASE_OPTIONS.slice(0, 8), '--cpu-shares', '20', '--memory', String(768 * 2 ** 20), '--memory-swap', String(768 * 2 ** 20), ...BASE_OPTIONS.slice(8)],
    ],
    [
      'securityContext: user, read-only root without podman tmpfs, capabilities',
      {},
      {
        securityContext: {
          runAsUser: 0,
          privileged: false,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
      },
      [...BASE_OPTIONS.slice(0, 8), '--user', '0', '--security-opt', 'no-new-privileges', '--read-only', '--read-only-tmpfs=false', '--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN'],
    ],
    [
      'volumes: ConfigMap and Secret read-only (whatever the mount says), hostPath directory and device, Memory emptyDir as a sized tmpfs',
      {
        volumes: [
          { name: 'config', configMap: { name: 'config-abc' } },
          { name: 'tokens', secret: { secretName: 'tokens', defaultMode: 256 } },
          { name: 'keys', hostPath: { path: '/var/lib/keys', type: 'DirectoryOrCreate' } },
          { name: 'tun', hostPath: { path: '/dev/net/tun', type: 'CharDevice' } },
          { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
        ],
      },
      {
        volumeMounts: [
          { name: 'config', mountPath: '/etc/config' },
          { name: 'tokens', mountPath: '/etc/tokens', readOnly: true },
          { name: 'keys', mountPath: '/var/lib/keys' },
          { name: 'tun', mountPath: '/dev/net/tun' },
          { name: 'tmp', mountPath: '/tmp' },
        ],
      },
      [
        ...BASE_OPTIONS,
        '-v', '/lab/configmap:/etc/config:ro',
        '-v', '/lab/secret:/etc/tokens:ro',
        '-v', '/lab/node/var/lib/keys:/var/lib/keys',
        '--device', '/dev/net/tun:/dev/net/tun',
        '--tmpfs', `/tmp:rw,exec,size=${16 * 2 ** 20},mode=0777`,
      ],
      {
        directoriesToCreate: ['/lab/node/var/lib/keys'],
        fileModes: [
          { directory: '/lab/configmap', mode: 0o644 },
          { directory: '/lab/secret', mode: 0o400 },
        ],
      },
    ],
    ['metadata, selector, scheduling and rollout fields change nothing', { priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }], nodeSelector: { 'kubernetes.io/os': 'linux' }, dnsPolicy: 'ClusterFirstWithHostNet' }, {}, BASE_OPTIONS],
  ];
  for (const [what, pod, container, options, extra = {}] of translated) {
    test(what, () => {
      const result = podmanContainer(daemonSet(pod, container), 'clusterwire', NODE);
      assert.deepEqual(result.options, options);
      for (const [key, value] of Object.entries(extra)) assert.deepEqual(result[key as keyof typeof result], value, key);
    });
  }

  const refused: [what: string, pod: Partial<IPodSpec>, container: Partial<IContainer>, problem: string][] = [
    ['a pod field nobody translated', { hostPID: true }, {}, 'spec.template.spec.hostPID is not understood'],
    ['a pod without the host network', { hostNetwork: false }, {}, 'spec.template.spec.hostNetwork: only a host-network pod can run in a lab node'],
    ['a container field nobody translated', {}, { command: ['sh'] }, 'container.command is not understood'],
    ['another container', {}, { name: 'sidecar' }, 'spec.template.spec.containers: the lab runs one container, clusterwire; found sidecar'],
    ['env from another field', {}, { env: [{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }] }, "env IP: only values and the downward API's spec.nodeName are understood"],
    ['a CPU limit', {}, { resources: { limits: { cpu: '1' } } }, 'resources.limits.cpu is not understood'],
    ['a memory limit that is no quantity', {}, { resources: { limits: { memory: '1 GB' } } }, 'resources.limits.memory 1 GB is not a memory quantity'],
    ['a privileged container', {}, { securityContext: { privileged: true, allowPrivilegeEscalation: false, seccompProfile: { type: 'RuntimeDefault' } } }, 'securityContext.privileged'],
    ['privilege escalation allowed (the default)', {}, { securityContext: { seccompProfile: { type: 'RuntimeDefault' } } }, 'securityContext.allowPrivilegeEscalation: only false is understood'],
    ['no seccomp profile (Unconfined in Kubernetes)', {}, { securityContext: { allowPrivilegeEscalation: false } }, 'securityContext.seccompProfile: only RuntimeDefault is understood'],
    ['a securityContext field nobody translated', {}, { securityContext: { allowPrivilegeEscalation: false, seccompProfile: { type: 'RuntimeDefault' }, runAsNonRoot: true } }, 'securityContext.runAsNonRoot is not understood'],
    ['a subPath mount', { volumes: [{ name: 'c', configMap: { name: 'config-abc' } }] }, { volumeMounts: [{ name: 'c', mountPath: '/c', subPath: 'x' }] }, 'volumeMounts[c].subPath is not understood'],
    ['a volume nothing mounts', { volumes: [{ name: 'c', configMap: { name: 'config-abc' } }] }, {}, 'volumes[c] is not mounted'],
    ['a ConfigMap the lab has no files for', { volumes: [{ name: 'c', configMap: { name: 'other' } }] }, { volumeMounts: [{ name: 'c', mountPath: '/c' }] }, 'volumes[c]: the lab has no files for ConfigMap other'],
    ['ConfigMap items', { volumes: [{ name: 'c', configMap: { name: 'config-abc', items: [{ key: 'a', path: 'b' }] } }] }, { volumeMounts: [{ name: 'c', mountPath: '/c' }] }, 'volumes[c].items is not understood'],
    ['a disk emptyDir', { volumes: [{ name: 't', emptyDir: {} }] }, { volumeMounts: [{ name: 't', mountPath: '/tmp' }] }, 'volumes[t]: only a Memory emptyDir is understood'],
    ['a Memory emptyDir without a size', { volumes: [{ name: 't', emptyDir: { medium: 'Memory' } }] }, { volumeMounts: [{ name: 't', mountPath: '/tmp' }] }, 'volumes[t]: a Memory emptyDir needs a sizeLimit quantity'],
    ['a hostPath of another type', { volumes: [{ name: 'h', hostPath: { path: '/x', type: 'Directory' } }] }, { volumeMounts: [{ name: 'h', mountPath: '/x' }] }, 'volumes[h]: hostPath type Directory is not understood'],
    ['another kind of volume', { volumes: [{ name: 'p', projected: { sources: [] } }] }, { volumeMounts: [{ name: 'p', mountPath: '/p' }] }, 'volumes[p].projected is not understood'],
    ['an exec probe', {}, { livenessProbe: { exec: { command: ['true'] } } }, 'livenessProbe: only an httpGet probe is understood'],
    ['a probe on an unnamed port', {}, { readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' } } }, 'readinessProbe: no container port named metrics'],
  ];
  for (const [what, pod, container, problem] of refused) {
    test(`refuses ${what}`, () => {
      assert.throws(
        () => podmanContainer(daemonSet(pod, container), 'clusterwire', NODE),
        (error: unknown) => error instanceof UnsupportedPodSpecError && error.message.includes(problem),
      );
    });
  }
});

const kubectl = await hasKubectl();

test('the shipped DaemonSet (deploy/local, rendered) translates: read-only root, in-memory /tmp, its memory limit', { skip: kubectl ? false : 'kubectl is not installed' }, async () => {
  const rendered = findOne(await renderKustomization(`${DEPLOY_DIR}/local`), 'DaemonSet', 'clusterwire') as IDaemonSet;
  const configMap = rendered.spec?.template.spec?.volumes?.find((v) => v.configMap)?.configMap?.name ?? '';
  const { options } = podmanContainer(rendered, 'clusterwire', { ...NODE, configMaps: { [configMap]: '/lab/configmap' }, secrets: { 'clusterwire-remote-tokens': '/lab/secret' } });
  const text = options.join(' ');
  for (const expected of ['--read-only --read-only-tmpfs=false', '--cap-drop ALL --cap-add NET_ADMIN', `--memory ${2 ** 30} --memory-swap ${2 ** 30}`, `--tmpfs /tmp:rw,exec,size=${16 * 2 ** 20},mode=0777`]) {
    assert.ok(text.includes(expected), expected);
  }
});

describe('Kubernetes quantities', () => {
  test('memory in bytes', () => {
    const cases: [string | number, number | null][] = [
      ['256Mi', 256 * 2 ** 20], ['1Gi', 2 ** 30], ['16Ki', 16384], ['512M', 512e6], ['2G', 2e9], ['1k', 1000], ['1000', 1000], [1000, 1000],
      ['1.5Gi', null], ['1 GB', null], ['', null], ['Mi', null],
    ];
    for (const [quantity, bytes] of cases) assert.equal(memoryBytes(quantity), bytes, String(quantity));
  });

  test('CPU in millicores and as cgroup shares', () => {
    const cases: [string | number, number | null][] = [['20m', 20], ['1', 1000], ['0.5', 500], [2, 2000], ['1.2345', null], ['x', null]];
    for (const [quantity, milli] of cases) assert.equal(milliCPU(quantity), milli, String(quantity));
    assert.equal(cpuShares(20), 20);
    assert.equal(cpuShares(1), 2, 'the kernel minimum');
    assert.equal(cpuShares(1000), 1024);
  });
});
