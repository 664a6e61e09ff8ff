// The second part of `npm test`, after jest.config.js: the tests that drive the jsii tools and the demo.
// No moto here: the demo must run without it, and the jsii tools need no S3.
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: base.testEnvironment,
  roots: base.roots,
  transform: base.transform,
  testMatch: ['**/*.tooling.test.ts'],
  testTimeout: 300000,
  maxWorkers: 1,
  // Its closing line counts both parts, so that the last "jest:" line is the whole run's.
  reporters: ['default', ['<rootDir>/test/support/summary-reporter.js', { addSaved: true }]],
};
