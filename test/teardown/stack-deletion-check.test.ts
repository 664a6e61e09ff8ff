import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStackResourceCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import type { CfnDeleteEvent } from '../../lambda/teardown/cfn-response';
import { checkStackDeletion } from '../../lambda/teardown/stack-deletion-check';

const cfn = mockClient(CloudFormationClient);
const client = new CloudFormationClient({ region: 'us-east-1' });
const STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/App/0a1b2c3d';

beforeEach(() => cfn.reset());

/** The stack's events, newest first: CloudFormation started the cleanup, then started deleting this physical id. */
function givenDeletionEvent(physicalId: string, status = 'DELETE_IN_PROGRESS'): void {
  cfn.on(DescribeStackEventsCommand).resolves({
    StackEvents: [
      { StackId: STACK_ID, EventId: '2', StackName: 'App', LogicalResourceId: 'Purger', PhysicalResourceId: physicalId, ResourceType: 'Custom::VersionPurger', ResourceStatus: status as never, Timestamp: new Date() },
      { StackId: STACK_ID, EventId: '1', StackName: 'App', LogicalResourceId: 'App', PhysicalResourceId: STACK_ID, ResourceType: 'AWS::CloudFormation::Stack', ResourceStatus: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', Timestamp: new Date() },
    ],
  });
}

/** CloudFormation's answers: the stack's status, and the resource's physical id, status and type (or none). */
function given(stackStatus: string, resource?: { physicalId: string; status: string; type?: string }, stackId = STACK_ID): void {
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackId: stackId, StackName: 'App', StackStatus: stackStatus as never, CreationTime: new Date() }] });
  if (resource) {
    cfn.on(DescribeStackResourceCommand).resolves({
      StackResourceDetail: {
        LogicalResourceId: 'Purger',
        PhysicalResourceId: resource.physicalId,
        ResourceType: resource.type ?? 'Custom::VersionPurger',
        ResourceStatus: resource.status as never,
        LastUpdatedTimestamp: new Date(),
      },
    });
  } else {
    cfn.on(DescribeStackResourceCommand).rejects(
      Object.assign(new Error('Resource Purger does not exist for stack App'), { name: 'ValidationError' }),
    );
  }
}

function deleteEvent(physicalId = 'version-purger:data', stackId = STACK_ID): CfnDeleteEvent {
  return {
    RequestType: 'Delete',
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    ResponseURL: 'http://127.0.0.1/unused',
    StackId: stackId,
    RequestId: 'r1',
    LogicalResourceId: 'Purger',
    ResourceType: 'Custom::VersionPurger',
    ResourceProperties: { BucketName: 'data' },
    PhysicalResourceId: physicalId,
  };
}

describe('checkStackDeletion', () => {
  test('confirms a stack deletion that is deleting this resource', async () => {
    given('DELETE_IN_PROGRESS', { physicalId: 'version-purger:data', status: 'DELETE_IN_PROGRESS' });
    await expect(checkStackDeletion(client, deleteEvent(), 'data')).resolves.toEqual({ confirmed: true, stackStatus: 'DELETE_IN_PROGRESS' });
  });

  test('confirms a replaced physical id in a cleanup phase when the stack\'s events show it being deleted and the live resource names another bucket', async () => {
    given('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', { physicalId: 'version-purger:new-data:o', status: 'UPDATE_COMPLETE' });
    givenDeletionEvent('version-purger:data');
    await expect(checkStackDeletion(client, deleteEvent(), 'data')).resolves.toMatchObject({ confirmed: true });
  });

  test.each([
    ['no event for that physical id in this cleanup (a forged id borrowed from another purger)', 'version-purger:other'],
    ['its deletion already completed', 'version-purger:data'],
  ])('refuses a replaced physical id when %s', async (_case, eventPhysicalId) => {
    given('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', { physicalId: 'version-purger:new-data:o', status: 'UPDATE_COMPLETE' });
    givenDeletionEvent(eventPhysicalId, eventPhysicalId === 'version-purger:data' ? 'DELETE_COMPLETE' : 'DELETE_IN_PROGRESS');
    await expect(checkStackDeletion(client, deleteEvent(), 'data')).resolves.toEqual({
      confirmed: false,
      why: expect.stringMatching(/show no deletion in progress/),
      stackDeleting: true,
    });
  });

  test('refuses a resource that is not a purger, whatever its status', async () => {
    given('DELETE_IN_PROGRESS', { physicalId: 'version-purger:data', status: 'DELETE_IN_PROGRESS', type: 'AWS::S3::Bucket' });
    await expect(checkStackDeletion(client, deleteEvent(), 'data')).resolves.toMatchObject({ confirmed: false, why: expect.stringMatching(/not a Custom::VersionPurger/) });
  });

  test.each([
    ['a stack that is not deleting anything', 'UPDATE_COMPLETE', { physicalId: 'version-purger:data', status: 'UPDATE_COMPLETE' }, /is UPDATE_COMPLETE, not deleting resources/],
    ['a resource that is not being deleted', 'DELETE_IN_PROGRESS', { physicalId: 'version-purger:data', status: 'CREATE_COMPLETE' }, /is CREATE_COMPLETE, not being deleted/],
    ['a resource the stack does not have', 'DELETE_IN_PROGRESS', undefined, /has no resource Purger/],
    ['another physical id outside a cleanup phase', 'DELETE_IN_PROGRESS', { physicalId: 'version-purger:x', status: 'DELETE_IN_PROGRESS' }, /not cleaning up replaced resources/],
    ['another physical id while the live resource still names the bucket', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', { physicalId: 'version-purger:data:o', status: 'UPDATE_COMPLETE' }, /still in use/],
  ])('refuses %s', async (_case, status, resource, why) => {
    given(status, resource);
    const event = resource?.physicalId === 'version-purger:data:o' ? deleteEvent('version-purger:data:old') : deleteEvent();
    await expect(checkStackDeletion(client, event, 'data')).resolves.toMatchObject({ confirmed: false, why: expect.stringMatching(why) });
  });

  test('refuses a StackId that is not an ARN without asking CloudFormation (a name would find the live stack)', async () => {
    await expect(checkStackDeletion(client, deleteEvent('version-purger:data', 'App'), 'data')).resolves.toMatchObject({ confirmed: false });
    expect(cfn.calls()).toHaveLength(0);
  });

  test('refuses when the stack found has another id', async () => {
    given('DELETE_IN_PROGRESS', { physicalId: 'version-purger:data', status: 'DELETE_IN_PROGRESS' }, `${STACK_ID}-other`);
    await expect(checkStackDeletion(client, deleteEvent(), 'data')).resolves.toMatchObject({ confirmed: false, why: expect.stringMatching(/does not exist/), stackDeleting: false });
  });

  test('refuses a stack that does not exist', async () => {
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error(`Stack with id ${STACK_ID} does not exist`), { name: 'ValidationError' }));
    await expect(checkStackDeletion(client, deleteEvent(), 'data')).resolves.toMatchObject({ confirmed: false, why: expect.stringMatching(/does not exist/), stackDeleting: false });
  });

  test('throws when CloudFormation cannot be asked, so that the caller answers FAILED having deleted nothing', async () => {
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    await expect(checkStackDeletion(client, deleteEvent(), 'data')).rejects.toThrow(/Rate exceeded/);
  });
});
