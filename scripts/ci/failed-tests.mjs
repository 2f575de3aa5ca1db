// Prints the tests that failed in the last `vitest run`, with the first lines of each error.
// CI calls it after the broker logs, so that the tail of a failed run names what failed.
import { existsSync, readFileSync } from 'node:fs';
import process from 'node:process';

const print = (line) => process.stdout.write(`${line}\n`);

const reportPath = '.state/vitest-report.json';
if (!existsSync(reportPath)) {
  print('no test report (the run failed before vitest ran: see the top of the output)');
  process.exit(0);
}
const report = JSON.parse(readFileSync(reportPath, 'utf8'));
const failed = [];
for (const file of report.testResults ?? []) {
  const fileName = file.name.replace(process.cwd() + '/', '');
  const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
  if (failedTests.length === 0 && file.status === 'failed') {
    failed.push({ name: `${fileName} (the file itself)`, message: file.message ?? '' });
  }
  for (const test of failedTests) {
    failed.push({ name: `${fileName} > ${test.fullName}`, message: (test.failureMessages ?? []).join('\n') });
  }
}
print(`===== failed tests: ${failed.length} of ${report.numTotalTests} =====`);
for (const { name, message } of failed) {
  print(`FAIL ${name}`);
  for (const line of message.split('\n').slice(0, 6)) print(`    ${line}`);
}
