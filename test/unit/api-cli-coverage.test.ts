/**
 * Every operation of the admin API has a `kmf` verb, and every operator verb speaks both to people and to
 * scripts: `--json`, `--api`, `--token`; the verbs that start a plan offer `--wait`. Checked over the
 * OpenAPI document and the real command tree, so that a new route without a verb (or a new verb without
 * --json) fails here. The verbs themselves run against a real scheduler in test/integration/cli-*.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { registerCommands } from '../../src/cli/commands/index.js';
import { apiFixture, type ApiFixture } from '../helpers/api-fixture.js';

/** operationId → the `kmf` verb that calls it. */
const VERBS: Readonly<Record<string, string>> = {
  getStatus: 'status',
  listUnits: 'units',
  listPlans: 'plan list',
  getPlan: 'plan show',
  pausePlan: 'plan pause',
  resumePlan: 'plan resume',
  abortPlan: 'plan abort',
  forceCompleteStep: 'plan force-complete',
  listApps: 'app list',
  deployApp: 'app deploy',
  getApp: 'app show',
  updateApp: 'app update',
  removeApp: 'app remove',
  scaleApp: 'app scale',
  restartApp: 'app restart',
  restartAppInstance: 'app restart', // --instance I
  replaceAppInstance: 'app replace',
  listEvents: 'events',
  listBrokers: 'broker list',
  addBrokers: 'broker add',
  getBroker: 'broker show',
  updateBroker: 'broker update',
  removeBroker: 'broker remove',
  stopBroker: 'broker stop',
  startBroker: 'broker start',
  restartBroker: 'broker restart',
  restartBrokers: 'broker restart', // --rolling
  replaceBroker: 'broker replace',
  listControllers: 'controller list',
  getEndpoints: 'endpoints',
  getClusterConfig: 'cluster config get',
  patchClusterConfig: 'cluster config set',
  // PUT replaces the whole override map; `set K=V … --remove K …` reaches any map the PUT can.
  putClusterConfig: 'cluster config set',
  listTopics: 'topic list',
  createTopic: 'topic create',
  getTopic: 'topic show',
  deleteTopic: 'topic delete',
  addTopicPartitions: 'topic partitions',
  updateTopicConfig: 'topic config',
};

/** Operations that are for machines, not operators: why they have no verb. */
const NO_VERB: Readonly<Record<string, string>> = {
  health: 'a liveness probe for the supervisor',
  ready: 'a readiness probe for the load balancer',
  metrics: 'scraped by Prometheus',
  openapi: 'read by tools and code generators',
  getArtifact: 'downloaded by the Mesos fetcher',
  listTimeline: 'the first name of listEvents (kmf events)',
};

/** Verbs that start work a plan carries out: `--wait` follows it. */
const WAITING_VERBS = [
  'plan show',
  'plan abort',
  'app deploy',
  'app update',
  'app scale',
  'app restart',
  'app remove',
  'broker add',
  'broker update',
  'broker stop',
  'broker start',
  'broker restart',
  'broker replace',
  'broker remove',
  'cluster config set',
];

let f: ApiFixture;
const program = new Command('kmf');
registerCommands(program);

function leaves(cmd: Command, prefix: string[] = []): Map<string, Command> {
  const out = new Map<string, Command>();
  for (const c of cmd.commands) {
    const path = [...prefix, c.name()];
    if (c.commands.length === 0) out.set(path.join(' '), c);
    else for (const [k, v] of leaves(c, path)) out.set(k, v);
  }
  return out;
}

function hasOption(cmd: Command, long: string): boolean {
  return cmd.options.some((o) => o.long === long);
}

before(async () => {
  f = await apiFixture();
});

after(async () => {
  await f?.close();
});

describe('kmf covers the admin API', () => {
  const verbs = leaves(program);

  test('every operation of the document has a verb (or a reason it has none), and every named verb exists', () => {
    const ids = Object.values(f.openapi.paths).flatMap((item) => Object.values(item).map((op) => String(op['operationId'])));
    const missing = ids.filter((id) => VERBS[id] === undefined && NO_VERB[id] === undefined);
    assert.deepEqual(missing, [], `operations without a kmf verb: ${missing.join(', ')} (add the verb and list it in VERBS)`);
    const stale = [...Object.keys(VERBS), ...Object.keys(NO_VERB)].filter((id) => !ids.includes(id));
    assert.deepEqual(stale, [], 'listed operations that the API no longer has');
    for (const [id, verb] of Object.entries(VERBS)) assert.ok(verbs.has(verb), `${id}: no "kmf ${verb}"`);
    // Two operations share a verb, told apart by a flag.
    const appRestart = verbs.get('app restart');
    const brokerRestart = verbs.get('broker restart');
    assert.ok(appRestart !== undefined && hasOption(appRestart, '--instance'), 'kmf app restart --instance I (restartAppInstance)');
    assert.ok(brokerRestart !== undefined && hasOption(brokerRestart, '--rolling'), 'kmf broker restart --rolling (restartBrokers)');
  });

  test('every verb that talks to the API takes --api, --token and --json', () => {
    // (`kmf scheduler --api` is the address it listens on: not a client of the API.)
    const operator = new Set(Object.values(VERBS));
    const apiVerbs = [...verbs].filter(([name, c]) => operator.has(name) || hasOption(c, '--token'));
    assert.ok(apiVerbs.length >= operator.size, `${apiVerbs.length} verbs`);
    for (const [name, c] of apiVerbs) {
      for (const opt of ['--api', '--token', '--token-file', '--json']) assert.ok(hasOption(c, opt), `kmf ${name} ${opt}`);
    }
  });

  test('verbs that start a plan offer --wait (and --wait-timeout)', () => {
    for (const v of WAITING_VERBS) {
      const c = verbs.get(v);
      assert.ok(c !== undefined, v);
      assert.ok(hasOption(c, '--wait') && hasOption(c, '--wait-timeout'), `kmf ${v} --wait --wait-timeout`);
    }
  });
});
