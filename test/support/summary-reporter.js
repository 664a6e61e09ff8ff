// Prints one plain closing line, "jest: N passed, N failed, N skipped", that
// tools which do not read jest's own summary can count. npm test runs jest
// twice (jest.config.js, then jest.tooling.config.js): the first run saves
// its counts ({ save: true }) and the second adds them ({ addSaved: true }),
// so the last line counts the whole run.
const fs = require('node:fs');
const path = require('node:path');

const SAVED = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'jest-summary.json');

class SummaryReporter {
  constructor(_globalConfig, options = {}) {
    this.options = options;
  }

  onRunComplete(_contexts, results) {
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    if (this.options.addSaved && fs.existsSync(SAVED)) {
      const saved = JSON.parse(fs.readFileSync(SAVED, 'utf8'));
      for (const name of Object.keys(counts)) counts[name] += saved[name];
      fs.rmSync(SAVED);
    }
    if (this.options.save) {
      fs.mkdirSync(path.dirname(SAVED), { recursive: true });
      fs.writeFileSync(SAVED, JSON.stringify(counts));
    }
    process.stdout.write(`\njest: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;
