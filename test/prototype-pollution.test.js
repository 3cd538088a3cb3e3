'use strict';
// Options and tensor fields are read as own properties only: with Object.prototype carrying every
// option name convkit reads (out, layout, inputGradient, groups, padding, ..., and the fields of
// parameter-file headers), every op, layer, optimiser and file load must give exactly what it
// gives on a clean prototype. Run in a child process, which is then thrown away.
const assert = require('assert');
const path = require('path');
const { spawnSync } = require('child_process');

const CHILD = path.join(__dirname, 'fixtures', 'prototype-pollution-child.js');

describe('prototype pollution', function () {
  this.timeout(60000);
  let results;

  before(() => {
    const child = spawnSync(process.execPath, [CHILD], { encoding: 'utf8', timeout: 30000, maxBuffer: 64 * 2 ** 20 });
    assert.strictEqual(child.status, 0, `the child failed: ${child.stderr}`);
    results = JSON.parse(child.stdout);
  });

  it('runs every scenario cleanly first (the comparison is of real results)', () => {
    const expectedErrors = ['SGD without lr', 'loadParameters of a file without an offset', 'loadParameters of a file without a layout'];
    for (const [name, result] of Object.entries(results.clean)) {
      const error = result && result.error;
      if (expectedErrors.includes(name)) assert.strictEqual(error, 'ERR_ARG', `${name}: ${JSON.stringify(result)}`);
      else assert.strictEqual(error, undefined, `${name} failed on a clean prototype: ${error}`);
    }
  });

  it('gives the same result for every op, layer, optimiser and parameter file with Object.prototype polluted', () => {
    const names = Object.keys(results.clean);
    assert.ok(names.length >= 20, `only ${names.length} scenarios ran`);
    const differing = names.filter((name) => JSON.stringify(results.polluted[name]) !== JSON.stringify(results.clean[name]));
    const detail = differing.map(
      (name) =>
        `${name}:\n  clean:    ${JSON.stringify(results.clean[name]).slice(0, 300)}\n  polluted: ${JSON.stringify(results.polluted[name]).slice(0, 300)}`,
    );
    assert.deepStrictEqual(differing, [], detail.join('\n'));
  });
});
