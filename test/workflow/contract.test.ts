import {
  executionNameFor,
  isStepPayload,
  MAX_EXECUTION_NAME_LENGTH,
  stateMachineArnFor,
  stateMachineNameFor,
  STEP,
} from '../../lambda/workflow/contract';

const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/my-stack/1c2fa620-982a-11e3-aff7-50e2416294e0';

describe('state machine name and ARN from the stack id', () => {
  test('the name is VersionPurger- and the stack UUID', () => {
    expect(stateMachineNameFor(STACK_ID)).toBe('VersionPurger-1c2fa620-982a-11e3-aff7-50e2416294e0');
  });

  test('the ARN is in the stack’s partition, region and account', () => {
    const govStack = 'arn:aws-us-gov:cloudformation:us-gov-west-1:210987654321:stack/Nested-Child-ABC/0a0b0c0d-0000-1111-2222-333344445555';
    expect(stateMachineArnFor(STACK_ID)).toBe(
      'arn:aws:states:eu-west-1:123456789012:stateMachine:VersionPurger-1c2fa620-982a-11e3-aff7-50e2416294e0',
    );
    expect(stateMachineArnFor(govStack)).toBe(
      'arn:aws-us-gov:states:us-gov-west-1:210987654321:stateMachine:VersionPurger-0a0b0c0d-0000-1111-2222-333344445555',
    );
  });

  test('two stacks of the same name (deleted and created again) get different names', () => {
    const again = STACK_ID.replace('1c2fa620', '9d8e7f60');
    expect(stateMachineNameFor(again)).not.toBe(stateMachineNameFor(STACK_ID));
  });

  test.each(['', 'my-stack', 'arn:aws:s3:::bucket', 'arn:aws:cloudformation:eu-west-1:123456789012:stack/my-stack'])(
    'refuses %j, which is no stack ARN',
    (bad) => {
      expect(() => stateMachineArnFor(bad)).toThrow(/not a CloudFormation stack ARN/);
    },
  );
});

describe('execution names', () => {
  test('the same request gets the same name; characters Step Functions refuses become _', () => {
    const a = executionNameFor('teardown-', 'f1c6b2a0-1a2b-4c3d-9e8f-001122334455');
    expect(a).toBe('teardown-f1c6b2a0-1a2b-4c3d-9e8f-001122334455');
    expect(executionNameFor('teardown-', 'f1c6b2a0-1a2b-4c3d-9e8f-001122334455')).toBe(a);
    expect(executionNameFor('t-', 'a b/c:d*e')).toBe('t-a_b_c_d_e');
  });

  test('long request ids are cut to 80 characters', () => {
    expect(executionNameFor('teardown-', 'x'.repeat(200))).toHaveLength(MAX_EXECUTION_NAME_LENGTH);
  });
});

test('isStepPayload recognises workflow payloads only', () => {
  expect(isStepPayload({ kind: 'workflow', v: 1, step: STEP.teardownSlice, run: {}, state: {} })).toBe(true);
  expect(isStepPayload({ kind: 'retention', v: 2, purger: 'P' })).toBe(false);
  expect(isStepPayload({ RequestType: 'Delete' })).toBe(false);
  expect(isStepPayload(null)).toBe(false);
});
