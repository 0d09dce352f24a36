import type { Logger } from '../../src/log.ts';
import { SERVICE_ACCOUNT_NAME_ANNOTATION, SERVICE_ACCOUNT_TOKEN_TYPE, SERVICE_ACCOUNT_UID_ANNOTATION } from './core-types.ts';
import { APIEXTENSIONS_GROUP, establishedStatus } from './crd-type.ts';
import { customResourceType } from './custom-resource-type.ts';
import { objectAt, type JsonObject, text } from './json.ts';
import type { ObjectApi, Reactor, WriteEvent } from './object-api.ts';
import type { ObjectRecord } from './object-record.ts';
import type { Registry, Resource } from './registry.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';
import { ApiError } from './status.ts';

/**
 * The kube-controller-manager and apiextensions controllers the emulated
 * resources need, reacting to each write once it is stored: every
 * namespace gets its `default` ServiceAccount and `kube-root-ca.crt`
 * ConfigMap; service-account-token Secrets get their token (and go with
 * their account); CRDs get served and Established.
 */
export interface ControllerOptions {
  registry: Registry;
  api: ObjectApi;
  tokens: ServiceAccountTokens;
  caPem: string;
  now: () => number;
  logger: Logger;
}

const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

function is(event: WriteEvent, group: string, resource: string): boolean {
  return event.resource.type.group === group && event.resource.type.resource === resource;
}

export function controllers(options: ControllerOptions): Reactor {
  const { registry, api } = options;
  const core = (resource: string) => registry.byResource('', resource) as Resource;

  /** Creates unless it exists: controllers converge, they do not fail on what is already there. */
  const ensure = (resource: Resource, namespace: string, object: JsonObject) => {
    if (resource.store.get(namespace, text(objectAt(object, 'metadata').name)) !== undefined) return;
    api.create(resource, 'v1', namespace, object);
  };

  const onNamespaceAdded = (namespace: string) => {
    ensure(core('serviceaccounts'), namespace, { metadata: { name: 'default' } });
    ensure(core('configmaps'), namespace, {
      metadata: { name: 'kube-root-ca.crt', annotations: { 'kubernetes.io/description': ROOT_CA_DESCRIPTION } },
      data: { 'ca.crt': options.caPem },
    });
  };

  /** The tokens controller: fill a token Secret for an existing account, delete one whose account is gone. */
  const onTokenSecret = (secret: ObjectRecord) => {
    const metadata = objectAt(secret.object, 'metadata');
    if (metadata.deletionTimestamp !== undefined) return;
    const annotations = objectAt(metadata, 'annotations');
    const accountName = text(annotations[SERVICE_ACCOUNT_NAME_ANNOTATION]);
    const account = core('serviceaccounts').store.get(secret.namespace, accountName);
    const expectedUid = annotations[SERVICE_ACCOUNT_UID_ANNOTATION];
    if (account === undefined || (typeof expectedUid === 'string' && expectedUid !== '' && expectedUid !== account.uid)) {
      api.delete(core('secrets'), secret.namespace, secret.name);
      return;
    }
    const data = objectAt(secret.object, 'data');
    if (typeof data.token === 'string' && expectedUid === account.uid && typeof data['ca.crt'] === 'string' && typeof data.namespace === 'string') return;
    const token = options.tokens.legacy({ namespace: secret.namespace, name: account.name, uid: account.uid }, secret.name);
    const base64 = (text: string) => Buffer.from(text).toString('base64');
    api.update(
      core('secrets'),
      'v1',
      secret.namespace,
      secret.name,
      {
        ...secret.object,
        metadata: { ...metadata, annotations: { ...annotations, [SERVICE_ACCOUNT_UID_ANNOTATION]: account.uid } },
        data: { ...data, token: base64(token), 'ca.crt': base64(options.caPem), namespace: base64(secret.namespace) },
      },
      '',
    );
  };

  const onAccountDeleted = (account: ObjectRecord) => {
    const secrets = core('secrets');
    for (const secret of secrets.store.list(account.namespace)) {
      const annotations = objectAt(objectAt(secret.object, 'metadata'), 'annotations');
      if (secret.object.type === SERVICE_ACCOUNT_TOKEN_TYPE && annotations[SERVICE_ACCOUNT_NAME_ANNOTATION] === account.name) {
        api.delete(secrets, secret.namespace, secret.name);
      }
    }
  };

  /** The CRD's resource is served as soon as it is stored, and its status says so. */
  const onDefinition = (event: WriteEvent) => {
    const crd = event.record.object;
    if (objectAt(crd, 'metadata').deletionTimestamp !== undefined) return;
    registry.register(customResourceType(crd));
    const status = establishedStatus(crd, options.now());
    if (JSON.stringify(status) === JSON.stringify(objectAt(crd, 'status'))) return;
    api.update(event.resource, 'v1', '', event.record.name, { ...crd, status }, 'status');
  };

  const react = (event: WriteEvent) => {
    if (is(event, '', 'namespaces') && event.type === 'ADDED') onNamespaceAdded(event.record.name);
    else if (is(event, '', 'secrets') && event.type !== 'DELETED' && event.record.object.type === SERVICE_ACCOUNT_TOKEN_TYPE) onTokenSecret(event.record);
    else if (is(event, '', 'serviceaccounts') && event.type === 'DELETED') onAccountDeleted(event.record);
    else if (is(event, APIEXTENSIONS_GROUP, 'customresourcedefinitions') && event.type !== 'DELETED') onDefinition(event);
  };

  return (event) => {
    try {
      react(event);
    } catch (error) {
      // Controllers retry in kube; here the write that failed is logged and the request that caused it stands.
      const level = error instanceof ApiError && (error.code === 404 || error.code === 409) ? 'debug' : 'error';
      options.logger[level]({ err: error, resource: event.resource.type.resource, name: event.record.name }, 'emulator: controller reaction failed');
    }
  };
}
