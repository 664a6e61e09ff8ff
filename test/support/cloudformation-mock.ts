import { type CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { AwsStub } from 'aws-sdk-client-mock';

/** A stack id as CloudFormation puts it in its events. */
export const STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1';

/** Makes the mocked CloudFormation confirm that stack {@link STACK_ID} is deleting resource `Purger` with this physical id. */
export function givenStackDeleting(cfn: AwsStub<any, any, CloudFormationClient>, physicalId: string): void {
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackId: STACK_ID, StackName: 's', StackStatus: 'DELETE_IN_PROGRESS', CreationTime: new Date() }] });
  cfn.on(DescribeStackResourceCommand).resolves({
    StackResourceDetail: {
      StackId: STACK_ID,
      LogicalResourceId: 'Purger',
      PhysicalResourceId: physicalId,
      ResourceType: 'Custom::VersionPurger',
      ResourceStatus: 'DELETE_IN_PROGRESS',
      LastUpdatedTimestamp: new Date(),
    },
  });
}
