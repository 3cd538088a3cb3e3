'use strict';
// test/skips.js, the end-of-run skip summary, on suites built by hand: skips are counted and
// listed with their reasons, a skip without a reason fails the run, and so does a run in which
// every test was skipped.
const assert = require('assert');
const Mocha = require('mocha');
const { skip, summarise } = require('./skips');

/** A root suite holding tests in the given states ('passed', 'failed', or a skip reason / null). */
function suiteOf(...states) {
  const root = new Mocha.Suite('', new Mocha.Context(), true);
  const child = Mocha.Suite.create(root, 'child');
  states.forEach((state, i) => {
    const test = new Mocha.Test(`test ${i}`, () => {});
    child.addTest(test);
    if (state === 'passed' || state === 'failed') {
      test.state = state;
    } else {
      test.pending = true;
      if (state) skip({ test, skip() {} }, state);
    }
  });
  return root;
}

describe('skip summary (test/skips.js)', () => {
  it('counts and lists each skip with its reason', () => {
    const { lines, problems } = summarise(suiteOf('passed', 'no GPU here', 'failed'));
    assert.ok(lines.includes('skipped: 1 of 3 tests'), lines.join('\n'));
    assert.ok(lines.includes('  child test 1: no GPU here'), lines.join('\n'));
    assert.deepStrictEqual(problems, []);
  });

  it('fails a skip without a reason', () => {
    const { problems } = summarise(suiteOf('passed', null));
    assert.strictEqual(problems.length, 1);
    assert.match(problems[0], /1 test\(s\) skipped without a reason/);
  });

  it('fails a run in which every test was skipped', () => {
    const { problems } = summarise(suiteOf('reason a', 'reason b'));
    assert.deepStrictEqual(problems, ['every selected test was skipped: nothing was checked']);
  });

  it('a reason given in a before hook covers the suite', () => {
    const root = suiteOf('passed');
    const suite = Mocha.Suite.create(root, 'skipped suite');
    const test = new Mocha.Test('inner', () => {});
    test.pending = true;
    suite.addTest(test);
    skip({ test: { type: 'hook', parent: suite }, skip() {} }, 'needs Linux');
    const { lines, problems } = summarise(root);
    assert.ok(lines.includes('  skipped suite inner: needs Linux'), lines.join('\n'));
    assert.deepStrictEqual(problems, []);
  });

  it('refuses a skip without a reason string', () => {
    assert.throws(() => skip({ test: {}, skip() {} }, ''), /needs a reason/);
  });
});
