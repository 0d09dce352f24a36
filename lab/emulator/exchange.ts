import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../src/log.ts';
import type { UserInfo } from './auth.ts';
import type { CountBytes } from './http-io.ts';
import type { ObjectApi } from './object-api.ts';
import type { Registry } from './registry.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';

/** What every request handler shares: the emulator's state and services. */
export interface ApiContext {
  registry: Registry;
  api: ObjectApi;
  tokens: ServiceAccountTokens;
  /** Static token file, read on every request. */
  tokensFile: string;
  /** host:port clients reach the API at, for /api's serverAddressByClientCIDRs. */
  serverAddress: string;
  now: () => number;
  logger: Logger;
}

/** One request being served. */
export interface Exchange {
  context: ApiContext;
  request: IncomingMessage;
  response: ServerResponse;
  query: URLSearchParams;
  user: UserInfo;
  /** Counts bytes sent, for the request log and the counters. */
  count: CountBytes;
}
