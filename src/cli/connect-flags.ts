/**
 * The flags of `connect` and `disconnect`, in kubectl's spelling for the
 * kubeconfig and context (KUBECONFIG is its variable, as for kubectl); the
 * second cluster's flags carry a `to-` prefix, as `cilium clustermesh
 * connect --destination-context` does.
 */
import { formatCidr, parseCidr } from '../net/cidr.ts';
import type { SideOptions } from '../connect/connect.ts';
import { parseBoolean, type FlagReader, type FlagSpec, type FlagValueResult } from './flags.ts';

const text = (value: string): FlagValueResult<string | null> => ({ ok: true, value: value === '' ? null : value });

function cidrList(value: string): FlagValueResult<string[] | null> {
  if (value === '') return { ok: true, value: null };
  const cidrs: string[] = [];
  for (const item of value.split(',').map((part) => part.trim())) {
    const parsed = parseCidr(item);
    if (!parsed.ok) return { ok: false, reason: `${JSON.stringify(item)} is not a CIDR: ${parsed.reason}` };
    cidrs.push(formatCidr(parsed.cidr));
  }
  return { ok: true, value: cidrs };
}

function httpsURL(value: string): FlagValueResult<string | null> {
  if (value === '') return { ok: true, value: null };
  const url = URL.parse(value);
  if (url === null || url.protocol !== 'https:' || url.hostname === '') return { ok: false, reason: 'must be an https URL (the token is sent to it)' };
  return { ok: true, value: value.replace(/\/$/, '') };
}

const flag = <T,>(name: string, valueName: string, description: string, parse: (text: string) => FlagValueResult<T>, defaultText: string | null = ''): FlagSpec<T> => ({
  name,
  env: null,
  valueName,
  description,
  defaultText,
  parse,
});

export const kubeconfigFlag: FlagSpec<string> = {
  name: 'kubeconfig',
  env: 'KUBECONFIG',
  valueName: 'files',
  description: "kubeconfig files of the first cluster, ':'-separated, merged as kubectl merges KUBECONFIG",
  defaultText: '~/.kube/config',
  parse: (value) => ({ ok: true, value }),
};
export const contextFlag = flag('context', 'name', "the first cluster's kubeconfig context (default: the current context)", text);
export const toKubeconfigFlag = flag('to-kubeconfig', 'files', "kubeconfig files of the second cluster (default: -kubeconfig's)", text);
export const toContextFlag = flag('to-context', 'name', "the second cluster's kubeconfig context", text, null);
export const nameFlag = flag('name', 'cluster', "the first cluster's clusterwire name (default: local.name of its clusters config, else the context name)", text);
export const toNameFlag = flag('to-name', 'cluster', "the second cluster's clusterwire name (same default)", text);
export const podSubnetsFlag = flag(
  'pod-subnets',
  'cidrs',
  "the first cluster's pod CIDRs, comma-separated (default: those already configured, else the smallest block holding its Nodes' podCIDRs)",
  cidrList,
);
export const toPodSubnetsFlag = flag('to-pod-subnets', 'cidrs', "the second cluster's pod CIDRs (same default)", cidrList);
export const apiURLFlag = flag('api-url', 'url', "the first cluster's apiserver as the second cluster's nodes reach it (default: the kubeconfig's server)", httpsURL);
export const toApiURLFlag = flag('to-api-url', 'url', "the second cluster's apiserver as the first cluster's nodes reach it (default: the kubeconfig's server)", httpsURL);
export const dryRunFlag: FlagSpec<boolean> = { ...flag('dry-run', '', 'print what would be written (secrets redacted) and write nothing', parseBoolean, 'false'), boolean: true };

export const sideFlags = [kubeconfigFlag, contextFlag, toKubeconfigFlag, toContextFlag, nameFlag, toNameFlag];

/** Both sides from the flags; `connect` adds pod subnets and API URLs. */
export function readSides(read: FlagReader, withNetwork: boolean): [SideOptions, SideOptions] {
  const kubeconfig = read(kubeconfigFlag);
  const toKubeconfig = read(toKubeconfigFlag) ?? kubeconfig;
  return [
    {
      kubeconfig,
      context: read(contextFlag),
      name: read(nameFlag),
      podSubnets: withNetwork ? read(podSubnetsFlag) : null,
      apiURL: withNetwork ? read(apiURLFlag) : null,
    },
    {
      kubeconfig: toKubeconfig,
      context: read(toContextFlag),
      name: read(toNameFlag),
      podSubnets: withNetwork ? read(toPodSubnetsFlag) : null,
      apiURL: withNetwork ? read(toApiURLFlag) : null,
    },
  ];
}
