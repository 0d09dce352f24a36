import { fieldErrors, type FieldError } from './field-errors.ts';
import { objectAt, text } from './json.ts';
import { ALL_VERBS, type ResourceType } from './resource-type.ts';
import { PLAIN_STRATEGY } from './strategies.ts';
import { METADATA_LIST_STRATEGIES } from './strategic-merge-patch.ts';
import { AGE_COLUMN, ageCell, column, NAME_COLUMN, nameCell } from './tables.ts';

/** coordination.k8s.io/v1 Leases: leader election's lock. */
export const LEASES: ResourceType = {
  ...PLAIN_STRATEGY,
  group: 'coordination.k8s.io',
  versions: ['v1'],
  resource: 'leases',
  singular: 'lease',
  kind: 'Lease',
  listKind: 'LeaseList',
  namespaced: true,
  shortNames: [],
  categories: [],
  verbs: ALL_VERBS,
  subresources: [],
  nameRule: 'subdomain',
  listStrategies: METADATA_LIST_STRATEGIES,
  fields: {},
  printer: {
    columns: [NAME_COLUMN, column('Holder', 'The holder of the lease'), AGE_COLUMN],
    cells: (lease, nowMs) => [nameCell(lease), text(objectAt(lease, 'spec').holderIdentity), ageCell(lease, nowMs)],
  },
  custom: false,
  allowUnconditionalUpdate: true,
  validate: (lease) => {
    const spec = objectAt(lease, 'spec');
    const found: FieldError[] = [];
    const duration = spec.leaseDurationSeconds;
    if (typeof duration === 'number' && duration <= 0) found.push(fieldErrors.invalid('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
    const transitions = spec.leaseTransitions;
    if (typeof transitions === 'number' && transitions < 0) {
      found.push(fieldErrors.invalid('spec.leaseTransitions', transitions, 'must be greater than or equal to 0'));
    }
    return found;
  },
};
