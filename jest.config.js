/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // *.tooling.test.ts run afterwards (jest.tooling.config.js): they drive CPU-heavy tools (jsii-rosetta,
  // jsii-pacmak, jsii-docgen, the demo) that would slow down the timing-sensitive lifecycle tests here.
  testPathIgnorePatterns: ['\\.tooling\\.test\\.ts$'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Node 20 lacks Promise.withResolvers, which aws-local-stepfunctions needs (the workflow tests).
  setupFiles: ['<rootDir>/bin/demo/promise-with-resolvers.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 2,
  reporters: ['default', ['<rootDir>/test/support/summary-reporter.js', { save: true }]],
};
