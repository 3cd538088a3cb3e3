'use strict';
// worker_threads: several workers load the addon at once, run ops concurrently and are
// terminated in the middle of async work. Run in a child process, so that a crash fails this
// test instead of killing mocha.
const assert = require('assert');
const { spawnSync } = require('child_process');
const path = require('path');

const FIXTURE = path.join(__dirname, 'fixtures', 'worker-churn.js');

describe('worker_threads', function () {
  this.timeout(120000);

  it('workers terminated mid-work crash nothing, and fresh workers still compute right', function () {
    const rounds = process.env.CONVKIT_WORKER_ROUNDS || '8';
    const child = spawnSync(process.execPath, [FIXTURE, rounds, '4'], { encoding: 'utf8', timeout: 100000 });
    assert.strictEqual(child.signal, null, `the child died of ${child.signal}: ${child.stderr}`);
    assert.strictEqual(child.status, 0, `exit ${child.status}: ${child.stdout}${child.stderr}`);
    assert.match(child.stdout, /worker-churn ok/);
  });
});
