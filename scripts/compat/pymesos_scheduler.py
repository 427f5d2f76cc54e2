#!/usr/bin/env python3
"""A small Mesos framework written with the third-party pymesos library (PyPI, v1 HTTP scheduler API, JSON).

It runs the unmodified library against `kmf mesos-sim` (or a real Mesos 1.11 master) to check that the
simulator speaks the protocol the way third-party clients expect.

Scenario `basic` (default):
  1. SUBSCRIBE (name, user, hostname, failover_timeout, checkpoint, one role, capabilities MULTI_ROLE,
     PARTITION_AWARE, TASK_KILLING_STATE; pymesos adds GPU_RESOURCES), then an explicit RECONCILE of a task
     id nobody launched: expect TASK_UNKNOWN from SOURCE_MASTER without uuid.
  2. Accept offers and LAUNCH command tasks: N tasks `echo hello-$i && sleep 1` (expect TASK_FINISHED),
     one that exits 3 (expect TASK_FAILED), one long-running task that is KILLed once it runs (expect
     TASK_KILLING, then TASK_KILLED). Offers that are not needed are declined; once all is launched, SUPPRESS.
  3. Acknowledge updates the library's normal way: pymesos ACKs every update that carries a uuid after
     statusUpdate() returns (implicit acknowledgements).
  4. Stop the driver without failover (pymesos sends TEARDOWN) and check /master/state: the framework is
     listed under completed_frameworks.

Scenario `failover` (a scheduler restart):
  1. A first driver subscribes, launches one long-running task, waits for TASK_RUNNING and stops *with*
     failover (no TEARDOWN; the connection just closes). /master/state must still list the framework,
     disconnected.
  2. A second driver subscribes with the saved framework id (pymesos re-SUBSCRIBEs with `framework_id` and
     `framework_info.id`), gets re-registered, runs an implicit RECONCILE (expect TASK_RUNNING,
     REASON_RECONCILIATION, no uuid), KILLs the task (expect TASK_KILLED) and tears the framework down.

The last line on stdout is `KMF-COMPAT-RESULT <json>`: the states every task went through, the checks
that failed (`problems`) and `ok`. The exit code is 0 only when every expectation held.
"""

import argparse
import base64
import getpass
import json
import logging
import os
import shlex
import socket
import sys
import threading
import time
import urllib.request
import uuid as uuidlib

import pymesos
from pymesos import MesosSchedulerDriver, Scheduler, decode_data, encode_data

TERMINAL_STATES = {
    'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR',
    'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
}
RESULT_PREFIX = 'KMF-COMPAT-RESULT '
UNKNOWN_TASK_ID = 'kmf-compat-never-launched'
LONG_TASK_ID = 'long-0'
EXECUTOR_CPUS = 0.05
EXECUTOR_MEM = 32.0
EXECUTOR_PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pymesos_executor.py')

log = logging.getLogger('kmf-compat')


class Task(object):
    def __init__(self, task_id, command, expected, executor=None):
        self.task_id = task_id
        self.command = command
        self.expected = expected  # the terminal state the task must end in
        self.executor = executor  # ExecutorInfo of a custom executor, or None for a command task

    @property
    def executor_id(self):
        # A command task's executor id is the task id (the agent's built-in command executor).
        return self.executor['executor_id']['value'] if self.executor else self.task_id


class Run(object):
    """What one run observed, shared by the drivers of a scenario (callbacks run on pymesos' I/O thread)."""

    def __init__(self, tasks):
        self.lock = threading.RLock()
        self.tasks = dict((t.task_id, t) for t in tasks)
        self.states = dict((t.task_id, []) for t in tasks)
        self.agents = {}  # task id -> agent id value it was launched on
        self.problems = []
        self.framework_id = None
        self.master_version = None
        self.offers = 0
        self.declined = 0
        self.updates_with_uuid = 0
        self.reconciliation = {}  # task id -> states answered by reconciliation
        self.messages = []  # framework messages received from executors (decoded text)
        self.masters = []  # host:port of each master the framework (re-)registered with

    def problem(self, text):
        with self.lock:
            if text not in self.problems:
                log.error('problem: %s', text)
                self.problems.append(text)

    def last_state(self, task_id):
        with self.lock:
            history = self.states.get(task_id) or [None]
            return history[-1]


class CompatScheduler(Scheduler):
    """One driver's scheduler. `to_launch` are launched from offers; `kill_on` says when the long task is
    killed: 'running' (its first TASK_RUNNING) or 'reconciled' (a reconciliation answer saying it runs)."""

    def __init__(self, run, role, to_launch, cpus, mem, kill_on, after_subscribe, expect_reregistration):
        self.run = run
        self.role = role
        self.pending = list(to_launch)
        self.cpus = cpus
        self.mem = mem
        self.kill_on = kill_on
        self.after_subscribe = after_subscribe
        self.expect_reregistration = expect_reregistration
        self.subscribed = threading.Event()
        self.changed = threading.Condition(run.lock)
        self.kill_sent = False
        self.suppressed = False

    def notify(self):
        with self.changed:
            self.changed.notify_all()

    def wait_until(self, predicate, deadline):
        with self.changed:
            while not predicate():
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.changed.wait(min(left, 0.5))
            return True

    # -- subscription ----------------------------------------------------------------------------------

    def registered(self, driver, framework_id, master_info):
        with self.run.lock:
            self.run.framework_id = framework_id['value']
            self.run.master_version = master_info.get('version')
            self.run.masters.append('%s:%s' % (master_info.get('hostname'), master_info.get('port')))
        log.info('registered as %s with master %s', framework_id['value'], dict(master_info))
        if self.expect_reregistration:
            self.run.problem('registered as a new framework, expected a re-registration')
        self.on_subscribed(driver)

    def reregistered(self, driver, master_info):
        log.info('re-registered with master %s', dict(master_info))
        with self.run.lock:
            self.run.master_version = master_info.get('version')
            self.run.masters.append('%s:%s' % (master_info.get('hostname'), master_info.get('port')))
        if not self.expect_reregistration:
            self.run.problem('unexpected re-registration (the subscription was interrupted)')
        self.on_subscribed(driver)

    def on_subscribed(self, driver):
        self.subscribed.set()
        if self.after_subscribe == 'reconcile-unknown':
            # pymesos sends only the task id (no agent id): the master answers from what it knows.
            driver.reconcileTasks([{'task_id': {'value': UNKNOWN_TASK_ID}}])
        elif self.after_subscribe == 'reconcile-implicit':
            driver.reconcileTasks([])
        self.notify()

    def disconnected(self, driver):
        log.info('disconnected from the master')

    def error(self, driver, message):
        self.run.problem('ERROR event: %s' % (message,))
        self.notify()

    # -- offers ----------------------------------------------------------------------------------------

    def resourceOffers(self, driver, offers):
        for offer in offers:
            with self.run.lock:
                self.run.offers += 1
                self.check_offer(offer)
                tasks = []
                while self.pending:
                    task = self.pending[0]
                    if task.executor is None:
                        need = (self.cpus, self.mem)
                    else:
                        need = (self.cpus + EXECUTOR_CPUS, self.mem + EXECUTOR_MEM)
                    if self.carve(offer, need[0], need[1], dry_run=True) is None:
                        break
                    self.pending.pop(0)
                    self.run.agents[task.task_id] = offer['agent_id']['value']
                    info = {
                        'name': 'kmf-compat %s' % task.task_id,
                        'task_id': {'value': task.task_id},
                        'agent_id': offer['agent_id'],
                        'resources': self.carve(offer, self.cpus, self.mem),
                    }
                    if task.executor is None:
                        info['command'] = {'shell': True, 'value': task.command}
                    else:
                        executor = dict(task.executor)
                        executor['resources'] = self.carve(offer, EXECUTOR_CPUS, EXECUTOR_MEM)
                        info['executor'] = executor
                        info['data'] = encode_data(task.command.encode('utf-8'))
                    tasks.append(info)
                if not tasks:
                    self.run.declined += 1
            if tasks:
                log.info('launching %s on %s', [t['task_id']['value'] for t in tasks], offer['agent_id']['value'])
                driver.launchTasks(offer['id'], tasks, filters={'refuse_seconds': 5.0})
            else:
                driver.declineOffer(offer['id'], filters={'refuse_seconds': 60.0})
        with self.run.lock:
            suppress = not self.pending and not self.suppressed
            self.suppressed = self.suppressed or suppress
        if suppress:
            log.info('nothing left to launch: SUPPRESS')
            driver.suppressOffers()

    def carve(self, offer, cpus, mem, dry_run=False):
        """cpus and mem out of the offer's unreserved resources (None when they don't fit); the offer
        copy is debited unless dry_run. The offer's `role` and `allocation_info` are echoed, as a careful
        MULTI_ROLE framework does."""
        picked = []
        for name, need in (('cpus', cpus), ('mem', mem)):
            source = None
            for r in offer.get('resources', []):
                if r.get('name') == name and r.get('type') == 'SCALAR' and 'reservations' not in r \
                        and r.get('role', '*') == '*' and r['scalar']['value'] + 1e-9 >= need:
                    source = r
                    break
            if source is None:
                return None
            res = {'name': name, 'type': 'SCALAR', 'scalar': {'value': float(need)}}
            for key in ('role', 'allocation_info'):
                if key in source:
                    res[key] = source[key]
            picked.append((source, res))
        if dry_run:
            return [res for _, res in picked]
        for source, res in picked:
            source['scalar']['value'] -= res['scalar']['value']
        return [res for _, res in picked]

    def offerRescinded(self, driver, offer_id):
        log.info('offer rescinded: %s', offer_id)

    # -- updates ---------------------------------------------------------------------------------------

    def statusUpdate(self, driver, update):
        task_id = update.get('task_id', {}).get('value')
        state = update.get('state')
        log.info('update %s %s source=%s reason=%s message=%r uuid=%s', task_id, state, update.get('source'),
                 update.get('reason'), update.get('message'), update.get('uuid'))
        kill = False
        if update.get('reason') == 'REASON_RECONCILIATION':
            self.check_reconciliation(task_id, update)
            with self.run.lock:
                self.run.reconciliation.setdefault(task_id, []).append(state)
                kill = self.kill_on == 'reconciled' and task_id == LONG_TASK_ID and state == 'TASK_RUNNING' \
                    and not self.kill_sent
                self.kill_sent = self.kill_sent or kill
        else:
            with self.run.lock:
                if task_id not in self.run.states:
                    self.run.problem('update for a task this framework never launched: %s %s' % (task_id, state))
                    self.notify()
                    return
                history = self.run.states[task_id]
                if history and history[-1] in TERMINAL_STATES:
                    self.run.problem('%s: %s after terminal %s' % (task_id, state, history[-1]))
                if not history or history[-1] != state:
                    history.append(state)
                if 'uuid' in update:
                    self.run.updates_with_uuid += 1
                kill = self.kill_on == 'running' and task_id == LONG_TASK_ID and state == 'TASK_RUNNING' \
                    and not self.kill_sent
                self.kill_sent = self.kill_sent or kill
            self.check_executor_update(task_id, update)
        if kill:
            log.info('KILL %s', task_id)
            driver.killTask({'value': task_id})
        self.notify()

    def frameworkMessage(self, driver, executor_id, agent_id, message):
        try:
            text = decode_data(message).decode('utf-8')
        except Exception:
            self.run.problem('MESSAGE data is not base64 of UTF-8: %r' % (message,))
            return
        log.info('framework message from %s on %s: %r', executor_id.get('value'), agent_id.get('value'), text)
        with self.run.lock:
            self.run.messages.append(text)
            expected = self.run.tasks.get(text.split(':', 1)[-1])
            ping = text.startswith('started:') and expected is not None and expected.expected == 'TASK_FINISHED' \
                and not any(m.startswith('ping:') for m in self.run.messages)
            if ping:
                self.run.messages.append('ping:%s' % expected.task_id)
        if expected is not None and executor_id.get('value') != expected.executor_id:
            self.run.problem('MESSAGE from executor %s, expected %s' % (executor_id, expected.executor_id))
        if ping:
            # Scheduler -> executor MESSAGE; the executor answers pong:<task id>.
            driver.sendFrameworkMessage(executor_id, agent_id, encode_data(('ping:%s' % expected.task_id).encode('utf-8')))
        self.notify()

    def slaveLost(self, driver, agent_id):
        self.run.problem('agent lost: %s' % (agent_id,))

    def executorLost(self, driver, executor_id, agent_id, status):
        # The master does not track command executors: FAILURE events are not sent for them.
        self.run.problem('FAILURE event for command executor %s on %s (status %s)' % (executor_id, agent_id, status))

    # -- wire checks -----------------------------------------------------------------------------------

    def check_offer(self, offer):
        for key in ('id', 'framework_id', 'agent_id', 'hostname'):
            if key not in offer:
                self.run.problem('offer without required field %s: %s' % (key, json.dumps(offer)))
        if self.run.framework_id and offer.get('framework_id', {}).get('value') != self.run.framework_id:
            self.run.problem('offer for framework %s' % (offer.get('framework_id'),))
        if offer.get('allocation_info', {}).get('role') != self.role:
            self.run.problem('MULTI_ROLE offer without allocation_info.role=%s: %s' % (
                self.role, offer.get('allocation_info')))
        for r in offer.get('resources', []):
            if r.get('allocation_info', {}).get('role') != self.role:
                self.run.problem('offered resource %s without allocation_info.role=%s' % (r.get('name'), self.role))
            if 'reservations' not in r and r.get('role') is None:
                # Without RESERVATION_REFINEMENT the master sends the pre-refinement format: "role":"*".
                self.run.problem('unreserved resource %s without "role":"*"' % (r.get('name'),))

    def check_uuid(self, what, encoded):
        try:
            raw = base64.b64decode(encoded, validate=True)
        except Exception:
            self.run.problem('%s: uuid is not standard base64: %r' % (what, encoded))
            return
        if len(raw) != 16:
            self.run.problem('%s: uuid is %d bytes, not 16' % (what, len(raw)))
        elif uuidlib.UUID(bytes=raw).version not in (1, 2, 3, 4, 5):
            self.run.problem('%s: uuid is not an RFC 4122 UUID' % (what,))

    def check_executor_update(self, task_id, update):
        state = update.get('state')
        what = '%s %s' % (task_id, state)
        if 'timestamp' not in update:
            self.run.problem('%s: no timestamp' % what)
        if update.get('agent_id', {}).get('value') != self.run.agents.get(task_id):
            self.run.problem('%s: agent_id %s, launched on %s' % (what, update.get('agent_id'), self.run.agents.get(task_id)))
        if 'uuid' not in update:
            self.run.problem('%s: executor update without uuid (cannot be acknowledged)' % what)
        else:
            self.check_uuid(what, update['uuid'])
        if update.get('source') != 'SOURCE_EXECUTOR':
            self.run.problem('%s: source %s, expected SOURCE_EXECUTOR' % (what, update.get('source')))
        task = self.run.tasks.get(task_id)
        if task is not None and update.get('executor_id', {}).get('value') != task.executor_id:
            self.run.problem('%s: executor_id %s, expected %s' % (what, update.get('executor_id'), task.executor_id))
        container = update.get('container_status')
        if not container or 'container_id' not in container:
            self.run.problem('%s: no container_status.container_id' % what)
        elif 'executor_pid' not in container:
            self.run.problem('%s: container_status without executor_pid' % what)
        if task is not None and task.executor is None and state == 'TASK_FAILED' \
                and update.get('message') != 'Command exited with status 3':
            self.run.problem('%s: message %r, expected "Command exited with status 3"' % (what, update.get('message')))

    def check_reconciliation(self, task_id, update):
        what = 'reconciliation of %s' % task_id
        if update.get('source') != 'SOURCE_MASTER':
            self.run.problem('%s: source %s, expected SOURCE_MASTER' % (what, update.get('source')))
        if 'uuid' in update:
            self.run.problem('%s: answer carries a uuid (master-generated updates must not)' % what)
        if task_id == UNKNOWN_TASK_ID:
            if update.get('state') != 'TASK_UNKNOWN':
                self.run.problem('%s: %s, expected TASK_UNKNOWN (PARTITION_AWARE)' % (what, update.get('state')))
        elif update.get('message') != 'Reconciliation: Latest task state':
            self.run.problem('%s: message %r' % (what, update.get('message')))


# -- helpers -----------------------------------------------------------------------------------------------

def master_state(master):
    with urllib.request.urlopen('http://%s/master/state' % master, timeout=10) as resp:
        return json.loads(resp.read().decode('utf-8'))


def framework_listing(run, master):
    """('active'|'completed'|'absent', framework JSON) for our framework in /master/state."""
    state = master_state(master)
    for key, where in (('frameworks', 'active'), ('completed_frameworks', 'completed')):
        for f in state.get(key, []):
            if f.get('id') == run.framework_id:
                return where, f
    return 'absent', None


def check_torn_down(run, master):
    if not run.framework_id:
        return None
    try:
        deadline = time.time() + 5
        where, _ = framework_listing(run, master)
        while where == 'active' and time.time() < deadline:
            time.sleep(0.1)
            where, _ = framework_listing(run, master)
        if where != 'completed':
            run.problem('after TEARDOWN the framework is %s in /master/state, expected completed' % where)
        return where == 'completed'
    except Exception as err:
        run.problem('GET /master/state failed: %r' % (err,))
        return None


def framework_info(args, framework_id=None):
    info = {
        'user': args.user,
        'name': 'kmf-compat-pymesos',
        'hostname': socket.gethostname(),
        'failover_timeout': 3600.0,
        'checkpoint': True,
        'roles': [args.role],
        'capabilities': [{'type': 'MULTI_ROLE'}, {'type': 'PARTITION_AWARE'}, {'type': 'TASK_KILLING_STATE'}],
    }
    if framework_id is not None:
        info['id'] = {'value': framework_id}
    return info


class Driven(object):
    """Runs a pymesos driver; pymesos interrupts the main thread when its I/O thread dies."""

    def __init__(self, run, sched, info, master):
        self.run = run
        self.sched = sched
        self.driver = MesosSchedulerDriver(sched, info, master, use_addict=False)

    def until(self, predicate, deadline, what):
        try:
            if not self.sched.wait_until(lambda: predicate() or self.driver.aborted, deadline):
                self.run.problem('timed out waiting for %s' % what)
                return False
            if self.driver.aborted:
                self.run.problem('the pymesos driver aborted while waiting for %s' % what)
                return False
            return True
        except KeyboardInterrupt:
            self.run.problem('the pymesos driver aborted (I/O thread error) while waiting for %s' % what)
            return False

    def master_address(self, fallback):
        """The master the driver ended up talking to (it follows 307 redirects and ZooKeeper)."""
        return self.driver.master or fallback

    def stop(self, failover):
        try:
            self.driver.stop(failover=failover)
            self.driver.join()
        except KeyboardInterrupt:
            self.run.problem('the pymesos driver aborted while stopping')


def all_terminal(run, task_ids):
    return lambda: all(run.last_state(t) in TERMINAL_STATES for t in task_ids)


# -- scenarios ---------------------------------------------------------------------------------------------

def scenario_basic(args, master, deadline):
    tasks = [Task('hello-%d' % i, 'echo hello-%d && sleep 1' % i, 'TASK_FINISHED') for i in range(args.tasks)]
    tasks.append(Task('fail-0', 'echo about to fail && exit 3', 'TASK_FAILED'))
    tasks.append(Task(LONG_TASK_ID, 'echo running until killed && exec sleep 300', 'TASK_KILLED'))
    run = Run(tasks)
    sched = CompatScheduler(run, args.role, tasks, args.cpus, args.mem, kill_on='running',
                            after_subscribe='reconcile-unknown', expect_reregistration=False)
    d = Driven(run, sched, framework_info(args), master)
    d.driver.start()
    done = all_terminal(run, [t.task_id for t in tasks])
    d.until(lambda: done() and UNKNOWN_TASK_ID in run.reconciliation, deadline, 'every task to end')
    d.stop(failover=False)  # pymesos sends TEARDOWN
    torn_down = check_torn_down(run, d.master_address(master))

    with run.lock:
        for t in tasks:
            history = run.states[t.task_id]
            if (history[-1] if history else None) != t.expected:
                run.problem('%s: states %s, expected to end %s' % (t.task_id, history, t.expected))
            if history[:2] != ['TASK_STARTING', 'TASK_RUNNING']:
                run.problem('%s: states %s, expected TASK_STARTING, TASK_RUNNING first' % (t.task_id, history))
        if 'TASK_KILLING' not in run.states[LONG_TASK_ID]:
            run.problem('%s: no TASK_KILLING although the framework has TASK_KILLING_STATE' % LONG_TASK_ID)
        if UNKNOWN_TASK_ID not in run.reconciliation:
            run.problem('no answer to the explicit reconciliation of %s' % UNKNOWN_TASK_ID)
    return run, {'teardown_ok': torn_down}


def scenario_failover(args, master, deadline):
    tasks = [Task(LONG_TASK_ID, 'echo running across a scheduler failover && exec sleep 300', 'TASK_KILLED')]
    run = Run(tasks)

    first = CompatScheduler(run, args.role, tasks, args.cpus, args.mem, kill_on=None,
                            after_subscribe=None, expect_reregistration=False)
    d1 = Driven(run, first, framework_info(args), master)
    d1.driver.start()
    ran = d1.until(lambda: run.last_state(LONG_TASK_ID) == 'TASK_RUNNING', deadline, '%s to run' % LONG_TASK_ID)
    d1.stop(failover=True)  # no TEARDOWN: the framework must survive (failover_timeout 3600 s)
    extra = {'first_framework_listing': None}
    if not ran or run.framework_id is None:
        return run, extra

    # The master notices the closed subscription asynchronously: poll briefly for "connected": false.
    try:
        listing_deadline = time.time() + 5
        where, info = framework_listing(run, d1.master_address(master))
        while where == 'active' and info.get('connected') is not False and time.time() < listing_deadline:
            time.sleep(0.1)
            where, info = framework_listing(run, d1.master_address(master))
        extra['first_framework_listing'] = where
        if where != 'active':
            run.problem('after a disconnect without TEARDOWN the framework is %s, expected still listed' % where)
        elif info.get('connected') is not False:
            run.problem('after the subscription closed /master/state says connected=%s' % info.get('connected'))
    except Exception as err:
        run.problem('GET /master/state failed: %r' % (err,))

    second = CompatScheduler(run, args.role, [], args.cpus, args.mem, kill_on='reconciled',
                             after_subscribe='reconcile-implicit', expect_reregistration=True)
    d2 = Driven(run, second, framework_info(args, run.framework_id), master)
    d2.driver.start()
    d2.until(lambda: run.last_state(LONG_TASK_ID) in TERMINAL_STATES, deadline, '%s to end after failover' % LONG_TASK_ID)
    d2.stop(failover=False)
    extra['teardown_ok'] = check_torn_down(run, d2.master_address(master))

    with run.lock:
        answers = run.reconciliation.get(LONG_TASK_ID, [])
        if 'TASK_RUNNING' not in answers:
            run.problem('implicit reconciliation after re-subscribing answered %s for %s, expected TASK_RUNNING' % (
                answers, LONG_TASK_ID))
        if run.last_state(LONG_TASK_ID) != 'TASK_KILLED':
            run.problem('%s: states %s, expected to end TASK_KILLED' % (LONG_TASK_ID, run.states[LONG_TASK_ID]))
    return run, extra


def scenario_executor(args, master, deadline):
    def executor(task_id):
        return {
            'executor_id': {'value': 'x-%s' % task_id},
            'name': 'kmf-compat pymesos executor for %s' % task_id,
            'command': {'shell': True, 'value': '%s %s' % (shlex.quote(sys.executable), shlex.quote(EXECUTOR_PROGRAM))},
        }

    tasks = [
        Task('exec-quick', 'echo quick', 'TASK_FINISHED', executor('exec-quick')),
        # Idle longer than common HTTP keep-alive timeouts between the executor's RUNNING and FINISHED calls.
        Task('exec-idle', 'sleep %d' % args.executor_idle, 'TASK_FINISHED', executor('exec-idle')),
        Task('exec-fail', 'exit 4', 'TASK_FAILED', executor('exec-fail')),
        Task(LONG_TASK_ID, 'exec sleep 300', 'TASK_KILLED', executor(LONG_TASK_ID)),
    ]
    run = Run(tasks)
    sched = CompatScheduler(run, args.role, tasks, args.cpus, args.mem, kill_on='running',
                            after_subscribe=None, expect_reregistration=False)
    d = Driven(run, sched, framework_info(args), master)
    d.driver.start()
    done = all_terminal(run, [t.task_id for t in tasks])
    d.until(lambda: done() and any(m.startswith('pong:') for m in run.messages), deadline,
            'every task to end and the executor to answer a framework message')
    d.stop(failover=False)
    torn_down = check_torn_down(run, d.master_address(master))

    with run.lock:
        for t in tasks:
            history = run.states[t.task_id]
            if (history[-1] if history else None) != t.expected:
                run.problem('%s: states %s, expected to end %s' % (t.task_id, history, t.expected))
            if not history or history[0] != 'TASK_RUNNING':
                run.problem('%s: states %s, expected TASK_RUNNING first (sent by the executor)' % (t.task_id, history))
            if 'started:%s' % t.task_id not in run.messages:
                run.problem('no framework message started:%s from its executor' % t.task_id)
        if not any(m.startswith('pong:') for m in run.messages):
            run.problem('the executor never answered the scheduler\'s framework message (messages: %s)' % run.messages)
    return run, {'teardown_ok': torn_down, 'messages': sorted(run.messages)}


def scenario_master_failover(args, master, deadline):
    """The leading master goes away while a task runs (the caller makes it happen when it reads the
    `KMF-COMPAT-PHASE running` line: the test moves leadership in the sim; by hand, stop the leading
    master). The driver must reach the new leader (307 or ZooKeeper), re-register with its framework id,
    and find the task by implicit reconciliation; then KILL and TEARDOWN."""
    tasks = [Task(LONG_TASK_ID, 'echo running across a master failover && exec sleep 300', 'TASK_KILLED')]
    run = Run(tasks)
    sched = CompatScheduler(run, args.role, tasks, args.cpus, args.mem, kill_on=None,
                            after_subscribe=None, expect_reregistration=False)
    d = Driven(run, sched, framework_info(args), master)
    d.driver.start()
    extra = {'masters': run.masters}
    if d.until(lambda: run.last_state(LONG_TASK_ID) == 'TASK_RUNNING', deadline, '%s to run' % LONG_TASK_ID):
        with run.lock:
            sched.expect_reregistration = True
            sched.after_subscribe = 'reconcile-implicit'
            sched.kill_on = 'reconciled'
            registrations = len(run.masters)
        sys.stdout.write('KMF-COMPAT-PHASE running\n')
        sys.stdout.flush()
        d.until(lambda: len(run.masters) > registrations and run.last_state(LONG_TASK_ID) in TERMINAL_STATES,
                deadline, 're-registration with a new leader and the end of %s' % LONG_TASK_ID)
    d.stop(failover=False)
    extra['teardown_ok'] = check_torn_down(run, d.master_address(master))
    with run.lock:
        answers = run.reconciliation.get(LONG_TASK_ID, [])
        if 'TASK_RUNNING' not in answers:
            run.problem('implicit reconciliation after the master failover answered %s for %s, expected TASK_RUNNING' % (
                answers, LONG_TASK_ID))
        if run.last_state(LONG_TASK_ID) != 'TASK_KILLED':
            run.problem('%s: states %s, expected to end TASK_KILLED' % (LONG_TASK_ID, run.states[LONG_TASK_ID]))
    return run, extra


SCENARIOS = {
    'basic': scenario_basic,
    'failover': scenario_failover,
    'executor': scenario_executor,
    'master-failover': scenario_master_failover,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--master', required=True, help='http://HOST:PORT, HOST:PORT or zk://HOST:PORT/PATH')
    parser.add_argument('--scenario', choices=sorted(SCENARIOS), default='basic')
    parser.add_argument('--tasks', type=int, default=3, help='basic: tasks that must reach TASK_FINISHED')
    parser.add_argument('--executor-idle', type=int, default=8,
                        help='executor: seconds the exec-idle task runs (its executor is silent meanwhile)')
    parser.add_argument('--cpus', type=float, default=0.1)
    parser.add_argument('--mem', type=float, default=32.0)
    parser.add_argument('--role', default='kmf-compat')
    parser.add_argument('--user', default=getpass.getuser())
    parser.add_argument('--timeout', type=float, default=90.0, help='seconds until giving up')
    args = parser.parse_args()

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='%(asctime)s [%(levelname)s] [%(name)s] %(message)s')
    master = args.master
    for prefix in ('http://', 'https://'):
        if master.startswith(prefix):
            master = master[len(prefix):].rstrip('/')

    started = time.time()
    run, extra = SCENARIOS[args.scenario](args, master, started + args.timeout)
    with run.lock:
        result = {
            'ok': not run.problems,
            'library': 'pymesos',
            'version': pymesos.__VERSION__,
            'scenario': args.scenario,
            'framework_id': run.framework_id,
            'master_version': run.master_version,
            'tasks': dict((t, {'expected': run.tasks[t].expected, 'states': run.states[t]}) for t in run.tasks),
            'reconciliation': run.reconciliation,
            'offers': run.offers,
            'declined': run.declined,
            'updates_with_uuid': run.updates_with_uuid,
            'seconds': round(time.time() - started, 1),
            'problems': run.problems,
        }
        result.update(extra)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, sort_keys=True) + '\n')
    sys.stdout.flush()
    return 0 if result['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
