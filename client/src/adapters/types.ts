import type { TokenClient } from '../token-client';

/** What an adapter needs of a TokenClient. */
export type BrokerTokens = Pick<TokenClient, 'getTokenInfo' | 'reportInvalid'>;
