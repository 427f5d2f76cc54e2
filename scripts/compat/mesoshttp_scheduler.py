#!/usr/bin/env python3
"""A small Mesos framework written with the third-party mesoshttp library (PyPI, v1 HTTP scheduler API over
`requests`, JSON). It complements pymesos_scheduler.py with a client that behaves differently:

  * a legacy single-role framework (`framework_info.role`, no MULTI_ROLE): offers must come without
    `allocation_info`, unreserved resources with `"role":"*"`;
  * every call on a new HTTP connection; the event stream read with `requests` (urllib3 de-chunking);
  * the library acknowledges each update that has a uuid *before* handing it to the application;
  * LAUNCH task infos carry an extra v0 key (`slave_id`) that mesoshttp adds: unknown JSON keys must be
    ignored by the master;
  * KILL with `agent_id`; explicit RECONCILE with `agent_id` of a registered agent for a task it does not
    know: expect TASK_GONE "Reconciliation: Task is unknown to the agent" (PARTITION_AWARE);
  * TEARDOWN through the library's driver, after which the master ends the event stream.

Tasks: N × `echo hello-$i && sleep 1` (TASK_FINISHED), one `exit 3` (TASK_FAILED), one long task killed
once running (TASK_KILLING, TASK_KILLED). Last stdout line: `KMF-COMPAT-RESULT <json>`; exit 0 only when
every expectation held.
"""

import argparse
import getpass
import json
import logging
import socket
import sys
import threading
import time
import urllib.request

from mesoshttp.client import MesosClient

TERMINAL_STATES = {
    'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR',
    'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
}
RESULT_PREFIX = 'KMF-COMPAT-RESULT '
UNKNOWN_TASK_ID = 'kmf-compat-unknown-to-agent'
LONG_TASK_ID = 'long-0'
LIBRARY_VERSION = '0.4.2'

log = logging.getLogger('kmf-compat')


class Framework(object):
    def __init__(self, args, client):
        self.args = args
        self.client = client
        self.lock = threading.Condition()
        self.tasks = [('hello-%d' % i, 'echo hello-%d && sleep 1' % i, 'TASK_FINISHED') for i in range(args.tasks)]
        self.tasks.append(('fail-0', 'echo about to fail && exit 3', 'TASK_FAILED'))
        self.tasks.append((LONG_TASK_ID, 'echo running until killed && exec sleep 300', 'TASK_KILLED'))
        self.expected = dict((t[0], t[2]) for t in self.tasks)
        self.pending = list(self.tasks)
        self.states = dict((t[0], []) for t in self.tasks)
        self.agents = {}
        self.problems = []
        self.reconciliation = []
        self.driver = None
        self.offers = 0
        self.declined = 0
        self.kill_sent = False
        self.reconcile_sent = False
        self.disconnects = 0

    def problem(self, text):
        with self.lock:
            if text not in self.problems:
                log.error('problem: %s', text)
                self.problems.append(text)
            self.lock.notify_all()

    def done(self):
        with self.lock:
            ended = all(s and s[-1] in TERMINAL_STATES for s in self.states.values())
            return ended and bool(self.reconciliation)

    # -- mesoshttp callbacks (called on the thread running MesosClient.register) ---------------------------

    def on_subscribed(self, driver):
        log.info('subscribed as %s (stream %s)', self.client.frameworkId, self.client.streamId)
        with self.lock:
            self.driver = driver
            self.lock.notify_all()

    def on_offers(self, offers):
        for offer in offers:
            o = offer.get_offer()
            with self.lock:
                self.offers += 1
                self.check_offer(o)
                tasks = []
                budget = dict((r['name'], r['scalar']['value']) for r in o.get('resources', [])
                              if r.get('type') == 'SCALAR')
                while self.pending and budget.get('cpus', 0) + 1e-9 >= self.args.cpus \
                        and budget.get('mem', 0) + 1e-9 >= self.args.mem:
                    task_id, command, _ = self.pending.pop(0)
                    budget['cpus'] -= self.args.cpus
                    budget['mem'] -= self.args.mem
                    self.agents[task_id] = o['agent_id']['value']
                    tasks.append({
                        'name': 'kmf-compat %s' % task_id,
                        'task_id': {'value': task_id},
                        'agent_id': o['agent_id'],
                        'resources': [
                            {'name': 'cpus', 'type': 'SCALAR', 'scalar': {'value': self.args.cpus}},
                            {'name': 'mem', 'type': 'SCALAR', 'scalar': {'value': self.args.mem}},
                        ],
                        'command': {'value': command},
                    })
                if not tasks:
                    self.declined += 1
                reconcile = not self.reconcile_sent and self.driver is not None
                self.reconcile_sent = self.reconcile_sent or reconcile
            if tasks:
                log.info('launching %s on %s', [t['task_id']['value'] for t in tasks], o['agent_id']['value'])
                offer.accept(tasks, {'filters': {'refuse_seconds': 5.0}})
            else:
                offer.decline({'filters': {'refuse_seconds': 60.0}})
            if reconcile:
                # A task id the agent never ran, with the agent's id: the master answers TASK_GONE.
                self.driver.reconcile([{'task_id': {'value': UNKNOWN_TASK_ID}, 'agent_id': o['agent_id']}])

    def on_update(self, update):
        status = update.get('status', {})
        task_id = status.get('task_id', {}).get('value')
        state = status.get('state')
        log.info('update %s %s source=%s reason=%s message=%r', task_id, state, status.get('source'),
                 status.get('reason'), status.get('message'))
        kill = False
        with self.lock:
            if task_id == UNKNOWN_TASK_ID:
                self.reconciliation.append(state)
                self.check_reconciliation(status)
            elif task_id not in self.states:
                self.problem('update for a task this framework never launched: %s %s' % (task_id, state))
            else:
                history = self.states[task_id]
                if history and history[-1] in TERMINAL_STATES:
                    self.problem('%s: %s after terminal %s' % (task_id, state, history[-1]))
                if not history or history[-1] != state:
                    history.append(state)
                if 'uuid' not in status:
                    self.problem('%s %s: executor update without uuid' % (task_id, state))
                if status.get('agent_id', {}).get('value') != self.agents.get(task_id):
                    self.problem('%s %s: agent_id %s' % (task_id, state, status.get('agent_id')))
                kill = task_id == LONG_TASK_ID and state == 'TASK_RUNNING' and not self.kill_sent
                self.kill_sent = self.kill_sent or kill
            self.lock.notify_all()
        if kill:
            log.info('KILL %s (with agent_id)', task_id)
            self.driver.kill(status['agent_id']['value'], task_id)

    def on_error(self, message):
        self.problem('ERROR event: %s' % (message,))

    def on_disconnected(self, message):
        with self.lock:
            self.disconnects += 1
            self.lock.notify_all()
        log.info('disconnected: %s', message)

    # -- checks -----------------------------------------------------------------------------------------

    def check_offer(self, o):
        if 'allocation_info' in o:
            self.problem('offer to a non-MULTI_ROLE framework carries allocation_info: %s' % o['allocation_info'])
        for r in o.get('resources', []):
            if 'allocation_info' in r:
                self.problem('resource %s offered to a non-MULTI_ROLE framework carries allocation_info' % r.get('name'))
            if r.get('role') != '*':
                self.problem('unreserved resource %s with role %r, expected "*"' % (r.get('name'), r.get('role')))

    def check_reconciliation(self, status):
        want = {
            'state': 'TASK_GONE',
            'source': 'SOURCE_MASTER',
            'reason': 'REASON_RECONCILIATION',
            'message': 'Reconciliation: Task is unknown to the agent',
        }
        for key, value in want.items():
            if status.get(key) != value:
                self.problem('reconciliation with agent_id of an unknown task: %s=%r, expected %r' % (
                    key, status.get(key), value))
        if 'uuid' in status:
            self.problem('reconciliation answer carries a uuid')


def master_state(url):
    with urllib.request.urlopen(url.rstrip('/') + '/master/state', timeout=10) as resp:
        return json.loads(resp.read().decode('utf-8'))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--master', required=True, help='http://HOST:PORT of the leading master')
    parser.add_argument('--tasks', type=int, default=3)
    parser.add_argument('--cpus', type=float, default=0.1)
    parser.add_argument('--mem', type=float, default=32.0)
    parser.add_argument('--role', default='kmf-compat-legacy')
    parser.add_argument('--user', default=getpass.getuser())
    parser.add_argument('--timeout', type=float, default=90.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='%(asctime)s [%(levelname)s] [%(name)s] %(message)s')

    master = args.master if '://' in args.master else 'http://' + args.master
    client = MesosClient(mesos_urls=[master], frameworkName='kmf-compat-mesoshttp', frameworkUser=args.user,
                         frameworkHostname=socket.gethostname(), max_reconnect=1)
    client.set_role(args.role)
    client.set_failover_timeout(3600)
    client.set_checkpoint(True)
    client.add_capability('PARTITION_AWARE')
    client.add_capability('TASK_KILLING_STATE')
    fw = Framework(args, client)
    client.on(MesosClient.SUBSCRIBED, fw.on_subscribed)
    client.on(MesosClient.OFFERS, fw.on_offers)
    client.on(MesosClient.UPDATE, fw.on_update)
    client.on(MesosClient.ERROR, fw.on_error)
    client.on(MesosClient.DISCONNECTED, fw.on_disconnected)

    started = time.time()
    deadline = started + args.timeout
    loop = threading.Thread(target=client.register, name='mesoshttp', daemon=True)
    loop.start()
    with fw.lock:
        while not fw.done() and loop.is_alive() and time.time() < deadline:
            fw.lock.wait(0.5)
    outcome = 'done' if fw.done() else ('stream ended' if not loop.is_alive() else 'timeout')
    if outcome != 'done':
        fw.problem('%s before every task ended: %s' % (outcome, fw.states))

    # TEARDOWN: stop the client's loop, then send the call; the master must end the subscription stream.
    teardown_ok = None
    if fw.driver is not None:
        disconnects_before = fw.disconnects
        client.tearDown()
        fw.driver.tearDown()
        loop.join(15)
        if loop.is_alive():
            fw.problem('the event stream was still open 15 s after TEARDOWN')
        elif fw.disconnects != disconnects_before:
            fw.problem('the event stream broke (connection error) instead of ending after TEARDOWN')
        try:
            state = master_state(master)
            completed = [f['id'] for f in state.get('completed_frameworks', [])]
            active = [f['id'] for f in state.get('frameworks', [])]
            teardown_ok = client.frameworkId in completed and client.frameworkId not in active
            if not teardown_ok:
                fw.problem('after TEARDOWN: active=%s completed=%s' % (client.frameworkId in active,
                                                                     client.frameworkId in completed))
        except Exception as err:
            fw.problem('GET /master/state failed: %r' % (err,))

    with fw.lock:
        for task_id, want in fw.expected.items():
            history = fw.states[task_id]
            if (history[-1] if history else None) != want:
                fw.problem('%s: states %s, expected to end %s' % (task_id, history, want))
            if history[:2] != ['TASK_STARTING', 'TASK_RUNNING']:
                fw.problem('%s: states %s, expected TASK_STARTING, TASK_RUNNING first' % (task_id, history))
        if 'TASK_KILLING' not in fw.states[LONG_TASK_ID]:
            fw.problem('%s: no TASK_KILLING although the framework has TASK_KILLING_STATE' % LONG_TASK_ID)
        result = {
            'ok': not fw.problems,
            'library': 'mesoshttp',
            'version': LIBRARY_VERSION,
            'scenario': 'legacy-role',
            'framework_id': client.frameworkId,
            'master_version': (client.get_master_info() or {}).get('version'),
            'tasks': dict((t, {'expected': fw.expected[t], 'states': fw.states[t]}) for t in fw.expected),
            'reconciliation': {UNKNOWN_TASK_ID: fw.reconciliation},
            'offers': fw.offers,
            'declined': fw.declined,
            'teardown_ok': teardown_ok,
            'seconds': round(time.time() - started, 1),
            'problems': fw.problems,
        }
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, sort_keys=True) + '\n')
    sys.stdout.flush()
    return 0 if result['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
