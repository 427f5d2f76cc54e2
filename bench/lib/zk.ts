/**
 * Shared by the scheduler benchmarks: a real ZooKeeper (the test helper's), and a leader's fenced store
 * on it with a real election, so every write carries the same fence checks as in production.
 */
import { FencedStateStore } from '../../src/state/fenced-state-store.js';
import { LeaderElection } from '../../src/state/leader-election.js';
import { ZooKeeperStateStore } from '../../src/state/zookeeper-state-store.js';
import { startZooKeeper, type ZooKeeperServer } from '../../test/helpers/zookeeper.js';

export { startZooKeeper, type ZooKeeperServer };

export interface LeaderStore {
  store: ZooKeeperStateStore;
  election: LeaderElection;
  fenced: FencedStateStore;
  epoch: number;
  close(): Promise<void>;
}

export async function leaderStore(zkSpec: string): Promise<LeaderStore> {
  const store = await ZooKeeperStateStore.connect(zkSpec, { sessionTimeoutMs: 10_000 });
  const election = new LeaderElection(store.session, { address: 'http://bench:0' });
  await election.start();
  const fence = await election.waitForLeadership();
  return {
    store,
    election,
    fenced: new FencedStateStore(store, election),
    epoch: fence.epoch,
    close: async () => {
      await election.close();
      await store.close();
    },
  };
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function ms(v: number): string {
  return `${v.toFixed(2)} ms`;
}
