'use strict';
// Counted skips. A test that cannot run here calls skip(this, reason) instead of this.skip();
// at the end of the run (.mocharc.json loads this file as a root-hook plugin) every skipped test
// is counted and listed with its reason, together with the kernels the run exercised. The run
// fails when a test was skipped without a reason, or when every test that was selected was
// skipped: a suite that checked nothing must not pass.

const REASON = Symbol('skip reason');

/**
 * Skips the running test (called in `it` or `beforeEach`) or the rest of the suite (called in
 * `before`), recording `reason` for the summary.
 */
function skip(context, reason) {
  if (typeof reason !== 'string' || reason === '') throw new Error('skip(this, reason) needs a reason');
  const runnable = context.currentTest || context.test;
  runnable[REASON] = reason;
  if (context.test && context.test.type === 'hook') context.test.parent[REASON] = reason;
  context.skip();
}

function reasonOf(test) {
  for (let node = test; node; node = node.parent) if (node[REASON]) return node[REASON];
  return undefined;
}

function allTests(suite, out = []) {
  out.push(...suite.tests);
  for (const child of suite.suites) allTests(child, out);
  return out;
}

/** The kernels this process ran and those it did not (CONVKIT_ISA picks one per process). */
function isaLine() {
  try {
    const convkit = require('../dist');
    const others = convkit.supportedIsas().filter((name) => name !== convkit.isa());
    const env = process.env.CONVKIT_ISA ? `CONVKIT_ISA=${process.env.CONVKIT_ISA}` : 'CONVKIT_ISA unset';
    return `kernels: ${convkit.isa()} (${env}); also supported here, not run by this process: ${others.join(', ') || 'none'}`;
  } catch (error) {
    return `kernels: unknown (${error.message.split('\n')[0]})`;
  }
}

/** The summary lines and the failures, from the tests of the root suite after the run. */
function summarise(root) {
  const tests = allTests(root);
  const skipped = tests.filter((test) => test.isPending() || test.state === 'pending');
  const ran = tests.filter((test) => test.state === 'passed' || test.state === 'failed');
  const lines = [isaLine(), `skipped: ${skipped.length} of ${skipped.length + ran.length} tests`];
  for (const test of skipped) lines.push(`  ${test.fullTitle()}: ${reasonOf(test) || 'NO REASON GIVEN'}`);
  const problems = [];
  const unexplained = skipped.filter((test) => !reasonOf(test));
  if (unexplained.length > 0) problems.push(`${unexplained.length} test(s) skipped without a reason: use skip(this, reason) from test/skips.js`);
  if (ran.length === 0 && skipped.length > 0) problems.push('every selected test was skipped: nothing was checked');
  return { lines, problems };
}

const mochaHooks = {
  afterAll() {
    const { lines, problems } = summarise(this.test.parent);
    console.log(`\n${lines.join('\n')}`);
    if (problems.length > 0) throw new Error(problems.join('; '));
  },
};

module.exports = { skip, summarise, mochaHooks };
