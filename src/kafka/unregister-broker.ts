/**
 * UnregisterBroker (Kafka API 64, version 0): removes a broker's registration from the cluster metadata once it
 * is gone for good (scale-in, after its partitions were moved away and its task stopped). Without it a removed
 * broker stays in the metadata as a fenced registration forever. kafkajs 2.2.4 lacks the API, so kmf sends it
 * itself (kafka-wire.ts); any broker forwards it to the active controller.
 */
import { KmfError } from '../util/errors.js';
import { NO_TAGS, WireReader, exchange, frameRequest, int32, newCorrelationId, responseError, tryServers } from './kafka-wire.js';

export const UNREGISTER_BROKER_API_KEY = 64;

export function encodeUnregisterBrokerRequest(correlationId: number, clientId: string, brokerId: number): Buffer {
  return frameRequest(UNREGISTER_BROKER_API_KEY, 0, correlationId, clientId, Buffer.concat([int32(brokerId), NO_TAGS]));
}

/**
 * Whether the broker was registered; BROKER_ID_NOT_REGISTERED (102) counts as done (unregistering is idempotent).
 * Throws a KmfError for any other error.
 */
export function decodeUnregisterBrokerResponse(payload: Buffer, correlationId: number): { wasRegistered: boolean } {
  const r = new WireReader(payload, 'UnregisterBroker');
  r.responseHeader(correlationId);
  r.int32(); // throttle time
  const code = r.int16();
  const message = r.nullableCompactString();
  r.skipTags();
  if (code !== 0 && code !== 102) throw responseError('kafka_unregister_failed', 'UnregisterBroker', code, message);
  return { wasRegistered: code === 0 };
}

/**
 * Unregisters `brokerId` through the first of `servers` that answers. The broker must be stopped: Kafka
 * refuses to unregister a live (unfenced) broker.
 */
export async function unregisterBroker(servers: readonly string[], brokerId: number, opts: { timeoutMs?: number } = {}): Promise<{ wasRegistered: boolean }> {
  if (!Number.isInteger(brokerId) || brokerId < 0) throw new KmfError('kafka_invalid_request', `broker id ${String(brokerId)} is not a node id`);
  return tryServers(servers, async (host, port) => {
    const cid = newCorrelationId();
    const payload = await exchange(host, port, encodeUnregisterBrokerRequest(cid, 'kmf', brokerId), 'UnregisterBroker', opts.timeoutMs ?? 5_000);
    return decodeUnregisterBrokerResponse(payload, cid);
  });
}
