#!/usr/bin/env python3
"""A custom executor written with pymesos' MesosExecutorDriver (v1 executor HTTP API, JSON), launched by
pymesos_scheduler.py's `executor` scenario through TaskInfo.executor.

Each task's `data` is a base64 shell command. The executor reports TASK_RUNNING, runs the command in the
sandbox and reports TASK_FINISHED (exit 0), TASK_FAILED (other exit) or TASK_KILLED (after a KILL). It
also talks to the scheduler: on launch it sends the framework message `started:<task id>`, and it
answers a framework message `ping:<x>` with `pong:<x>`. pymesos acknowledges nothing itself on this side:
the agent sends ACKNOWLEDGED events, which the driver uses to forget the update.
"""

import logging
import subprocess
import sys
import threading
import time

from pymesos import Executor, MesosExecutorDriver, decode_data, encode_data

log = logging.getLogger('kmf-compat-executor')


class CompatExecutor(Executor):
    def __init__(self):
        self.lock = threading.Lock()
        self.processes = {}
        self.killed = set()

    def registered(self, driver, executor_info, framework_info, agent_info):
        log.info('registered: executor %s of framework %s on agent %s', executor_info['executor_id']['value'],
                 framework_info['id']['value'], agent_info['id']['value'])

    def update(self, driver, task_id, state, message=None):
        status = {'task_id': {'value': task_id}, 'state': state}
        if message is not None:
            status['message'] = message
        log.info('sending %s %s', task_id, state)
        driver.sendStatusUpdate(status)

    def launchTask(self, driver, task):
        task_id = task['task_id']['value']
        command = decode_data(task['data']).decode('utf-8')
        threading.Thread(target=self.run, args=(driver, task_id, command), daemon=True).start()

    def run(self, driver, task_id, command):
        try:
            proc = subprocess.Popen(['/bin/sh', '-c', command])
            with self.lock:
                self.processes[task_id] = proc
            self.update(driver, task_id, 'TASK_RUNNING')
            driver.sendFrameworkMessage(encode_data(('started:%s' % task_id).encode('utf-8')))
            code = proc.wait()
            with self.lock:
                killed = task_id in self.killed
            if killed:
                self.update(driver, task_id, 'TASK_KILLED', 'killed by the scheduler')
            elif code == 0:
                self.update(driver, task_id, 'TASK_FINISHED', 'exit 0')
            else:
                self.update(driver, task_id, 'TASK_FAILED', 'exit %d' % code)
        except Exception:
            # Printed to the sandbox's stderr; the scheduler notices the missing update.
            log.exception('task %s: executor call failed', task_id)

    def killTask(self, driver, task_id):
        task_id = task_id['value']
        with self.lock:
            self.killed.add(task_id)
            proc = self.processes.get(task_id)
        if proc is not None and proc.poll() is None:
            proc.terminate()

    def frameworkMessage(self, driver, message):
        text = decode_data(message).decode('utf-8')
        log.info('framework message %r', text)
        if text.startswith('ping:'):
            driver.sendFrameworkMessage(encode_data(('pong:' + text[len('ping:'):]).encode('utf-8')))

    def shutdown(self, driver):
        log.info('shutdown')
        with self.lock:
            for proc in self.processes.values():
                if proc.poll() is None:
                    proc.terminate()

    def error(self, driver, message):
        log.error('error event: %s', message)


def main():
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='%(asctime)s [%(levelname)s] [%(name)s] %(message)s')
    driver = MesosExecutorDriver(CompatExecutor(), use_addict=False)
    driver.run()
    # Let the shutdown path finish its updates before the process ends.
    time.sleep(0.2)


if __name__ == '__main__':
    main()
