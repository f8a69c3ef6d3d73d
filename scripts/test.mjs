// `npm test`: Chromium check, type check, unit and simulation tests, build, browser tests.
// Ends with one plain line totalling both runners: "tests: N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';

const reports = 'test-results/reports';
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });

function run(command, args, env = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status ?? 1;
}

function count(file, read) {
  if (!existsSync(file)) return { passed: 0, failed: 0, missing: true };
  return read(JSON.parse(readFileSync(file, 'utf8')));
}

let status = run('node', ['scripts/ensure-chromium.mjs']);
if (status === 0) status = run('npx', ['tsc', '--noEmit', '-p', '.']);
let unit = { passed: 0, failed: 0 };
let browser = { passed: 0, failed: 0 };
if (status === 0) {
  status = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${reports}/vitest.json`]);
  unit = count(`${reports}/vitest.json`, (r) => ({ passed: r.numPassedTests, failed: r.numFailedTests }));
}
if (status === 0) status = run('npx', ['vite', 'build', '--logLevel', 'warn']);
if (status === 0) {
  status = run('npx', ['playwright', 'test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: `${reports}/playwright.json` });
  browser = count(`${reports}/playwright.json`, (r) => ({ passed: r.stats.expected, failed: r.stats.unexpected, flaky: r.stats.flaky }));
}
const passed = unit.passed + browser.passed;
const failed = unit.failed + browser.failed + (status !== 0 && unit.failed + browser.failed === 0 ? 1 : 0);
console.log(`\nunit and simulation: ${unit.passed} passed, ${unit.failed} failed; browser: ${browser.passed} passed, ${browser.failed} failed`);
if (browser.flaky) console.log(`FLAKY: ${browser.flaky} browser test(s) failed once and passed on the retry; see the list above`);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(status);
