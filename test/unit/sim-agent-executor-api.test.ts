import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { acceptsMediaType, isValidUuidBytes, validateExecutorCall } from '../../src/sim/agent/executor-api.js';
import type { ExecutorCall } from '../../src/sim/agent/executor-messages.js';

const uuid = (): Buffer => Buffer.from(randomUUID().replaceAll('-', ''), 'hex');

function update(status: Partial<NonNullable<ExecutorCall['update']>['status']>): ExecutorCall {
  return {
    executor_id: { value: 'e1' },
    framework_id: { value: 'f1' },
    type: 'UPDATE',
    update: { status: { task_id: { value: 't1' }, state: 'TASK_RUNNING', source: 'SOURCE_EXECUTOR', uuid: uuid(), ...status } },
  };
}

void describe('validateExecutorCall (reference items 172, 177)', () => {
  void test('accepts a well-formed UPDATE', () => {
    assert.equal(validateExecutorCall(update({})), undefined);
  });

  void test('UPDATE needs a valid 16-byte uuid', () => {
    assert.equal(validateExecutorCall(update({ uuid: undefined })), "Expecting 'uuid' to be present");
    assert.equal(validateExecutorCall(update({ uuid: Buffer.from('0123456789abcdef0123456789abcdef') })), 'Not a valid UUID');
    assert.equal(validateExecutorCall(update({ uuid: Buffer.alloc(16) })), 'Not a valid UUID');
  });

  void test('UPDATE executor id, source and state rules', () => {
    assert.equal(
      validateExecutorCall(update({ executor_id: { value: 'other' } })),
      'ExecutorID in Call: e1 does not match ExecutorID in TaskStatus: other',
    );
    assert.equal(
      validateExecutorCall(update({ source: 'SOURCE_AGENT' })),
      "Received Call from executor e1 of framework f1 with invalid source, expecting 'SOURCE_EXECUTOR'",
    );
    assert.equal(validateExecutorCall(update({ state: 'TASK_STAGING' })), 'Received TASK_STAGING from executor e1 of framework f1 which is not allowed');
  });

  void test('each call type needs its member', () => {
    const ids = { executor_id: { value: 'e1' }, framework_id: { value: 'f1' } };
    assert.equal(validateExecutorCall({ ...ids, type: 'SUBSCRIBE' }), "Expecting 'subscribe' to be present");
    assert.equal(validateExecutorCall({ ...ids, type: 'SUBSCRIBE', subscribe: {} }), undefined);
    assert.equal(validateExecutorCall({ ...ids, type: 'UPDATE' }), "Expecting 'update' to be present");
    assert.equal(validateExecutorCall({ ...ids, type: 'MESSAGE' }), "Expecting 'message' to be present");
    assert.equal(validateExecutorCall({ ...ids, type: 'HEARTBEAT' }), undefined);
    assert.equal(validateExecutorCall({ ...ids }), "Expecting 'type' to be present");
  });

  void test('uuid version nibble must be 1-5', () => {
    const b = uuid();
    assert.equal(isValidUuidBytes(b), true);
    b[6] = 0x60;
    assert.equal(isValidUuidBytes(b), false);
    b[6] = 0x10;
    assert.equal(isValidUuidBytes(b), true);
  });
});

void describe('Accept negotiation', () => {
  void test('absent Accept accepts everything; JSON wins when both are acceptable', () => {
    assert.equal(acceptsMediaType(undefined, 'application/json'), true);
    assert.equal(acceptsMediaType('application/x-protobuf', 'application/json'), false);
    assert.equal(acceptsMediaType('application/x-protobuf', 'application/x-protobuf'), true);
    assert.equal(acceptsMediaType('application/*', 'application/json'), true);
    assert.equal(acceptsMediaType('*/*', 'application/x-protobuf'), true);
    assert.equal(acceptsMediaType('text/html', 'application/json'), false);
    assert.equal(acceptsMediaType('application/json;q=0, */*', 'application/json'), false);
    assert.equal(acceptsMediaType('application/json; q=0.5', 'application/json'), true);
  });
});
