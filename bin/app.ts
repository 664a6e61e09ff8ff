#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { ExampleStack } from './example-stack';

const app = new App();
new ExampleStack(app, 'VersionPurgerExample', {
  description: 'cdk-version-purger example: a versioned bucket emptied on stack deletion, with scheduled retention cleanup',
});
app.synth();
