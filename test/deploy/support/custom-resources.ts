import { parseCidr } from '../../../src/net/cidr.ts';
import type { Manifest } from './manifests.ts';

/**
 * Hand checks for the custom resources in deploy/ that kubernetes-models
 * has no schema for: the fields their CRDs require and the types of the
 * fields we use. Each returns the problems found, empty when none.
 */

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Prometheus durations, as the ServiceMonitor CRD's pattern has them. */
const PROMETHEUS_DURATION = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;

/** The IPPoolSpec fields of projectcalico.org/v3. */
const IPPOOL_SPEC_FIELDS = new Set(['cidr', 'vxlanMode', 'ipipMode', 'natOutgoing', 'disabled', 'disableBGPExport', 'blockSize', 'nodeSelector', 'allowedUses', 'assignmentMode']);
const ENCAPSULATION_MODES = ['Never', 'Always', 'CrossSubnet'];

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value);

function nameProblems(m: Manifest): string[] {
  const name = m.metadata?.name;
  if (typeof name !== 'string' || name === '') return ['metadata.name is required'];
  return DNS_SUBDOMAIN.test(name) && name.length <= 253 ? [] : [`metadata.name '${name}' is not a DNS subdomain`];
}

export function ipPoolProblems(m: Manifest): string[] {
  const problems = nameProblems(m);
  const spec = m.spec;
  if (!isObject(spec)) return [...problems, 'spec is required'];
  for (const key of Object.keys(spec)) if (!IPPOOL_SPEC_FIELDS.has(key)) problems.push(`spec.${key} is not an IPPool field`);
  if (typeof spec.cidr !== 'string') problems.push('spec.cidr is required');
  else if (!parseCidr(spec.cidr).ok) problems.push(`spec.cidr '${spec.cidr}' is not a CIDR`);
  for (const key of ['ipipMode', 'vxlanMode']) {
    if (spec[key] !== undefined && !ENCAPSULATION_MODES.includes(spec[key] as string)) problems.push(`spec.${key} must be one of ${ENCAPSULATION_MODES.join(', ')}`);
  }
  for (const key of ['natOutgoing', 'disabled', 'disableBGPExport']) {
    if (spec[key] !== undefined && typeof spec[key] !== 'boolean') problems.push(`spec.${key} must be a boolean`);
  }
  return problems;
}

export function serviceMonitorProblems(m: Manifest): string[] {
  const problems = nameProblems(m);
  const spec = m.spec;
  if (!isObject(spec)) return [...problems, 'spec is required'];
  if (!isObject(spec.selector)) problems.push('spec.selector is required');
  if (!Array.isArray(spec.endpoints) || spec.endpoints.length === 0) return [...problems, 'spec.endpoints must list at least one endpoint'];
  spec.endpoints.forEach((endpoint: unknown, i) => {
    const at = `spec.endpoints[${i}]`;
    if (!isObject(endpoint)) {
      problems.push(`${at} must be an object`);
      return;
    }
    if (typeof endpoint.port !== 'string' && endpoint.targetPort === undefined) problems.push(`${at} needs port (a Service port name) or targetPort`);
    if (endpoint.path !== undefined && (typeof endpoint.path !== 'string' || !endpoint.path.startsWith('/'))) problems.push(`${at}.path must start with /`);
    if (endpoint.interval !== undefined && (typeof endpoint.interval !== 'string' || !PROMETHEUS_DURATION.test(endpoint.interval))) {
      problems.push(`${at}.interval must be a Prometheus duration`);
    }
    if (endpoint.relabelings !== undefined && !(Array.isArray(endpoint.relabelings) && endpoint.relabelings.every(isObject))) {
      problems.push(`${at}.relabelings must be a list of objects`);
    }
  });
  return problems;
}

/** The PrometheusRule CRD's required fields, and what deploy/'s alerts promise: severity, `for`, summary, description, runbook. */
export function prometheusRuleProblems(m: Manifest): string[] {
  const problems = nameProblems(m);
  const spec = m.spec;
  if (!isObject(spec) || !Array.isArray(spec.groups) || spec.groups.length === 0) return [...problems, 'spec.groups must list at least one group'];
  spec.groups.forEach((group: unknown, g) => {
    const at = `spec.groups[${g}]`;
    if (!isObject(group) || typeof group.name !== 'string' || !Array.isArray(group.rules)) {
      problems.push(`${at} needs a name and rules`);
      return;
    }
    group.rules.forEach((rule: unknown, r) => {
      const where = `${at}.rules[${r}]`;
      if (!isObject(rule) || typeof rule.expr !== 'string' || (typeof rule.alert !== 'string') === (typeof rule.record !== 'string')) {
        problems.push(`${where} needs expr and exactly one of alert, record`);
        return;
      }
      if (rule.alert === undefined) return;
      if (typeof rule.for !== 'string' || !PROMETHEUS_DURATION.test(rule.for)) problems.push(`${where}.for must be a Prometheus duration`);
      const labels = isObject(rule.labels) ? rule.labels : {};
      if (!['critical', 'warning', 'info'].includes(labels.severity as string)) problems.push(`${where}.labels.severity must be critical, warning or info`);
      const annotations = isObject(rule.annotations) ? rule.annotations : {};
      for (const key of ['summary', 'description', 'runbook_url']) if (typeof annotations[key] !== 'string') problems.push(`${where}.annotations.${key} is required`);
    });
  });
  return problems;
}
