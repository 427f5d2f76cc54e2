/**
 * server.properties keys whose values are secrets: the keys Kafka itself types as PASSWORD (key and keystore
 * passwords, PEM keys and certificates given inline, the JAAS configuration with its credentials, the
 * password encoder and delegation token secrets), also under a `listener.name.<l>.` prefix. What kmf writes
 * in words about a change (the timeline, the API's list of changes) shows them masked; the value itself is
 * stored and rendered unchanged.
 */
const SENSITIVE = /(password|secret|jaas\.config|credential|ssl\.keystore\.key$|ssl\.keystore\.certificate\.chain$|ssl\.truststore\.certificates$)/i;

export const MASKED_VALUE = '******';

export function isSensitiveProperty(key: string): boolean {
  return SENSITIVE.test(key);
}

/** The value as kmf may show it in a message about a change. */
export function shownPropertyValue(key: string, value: string): string {
  return isSensitiveProperty(key) ? MASKED_VALUE : value;
}
