'use strict';
// The library (everything dist/index.js reaches) must not load the application in dist/app
// (CLI, MNIST job, SVG charts) nor any package beyond Node's built-ins and its own runtime
// dependencies: the app depends on the library, never the other way round. The import graph
// is walked on the compiled JavaScript, so it sees exactly what `require('convkit')` loads.
const assert = require('assert');
const fs = require('fs');
const { createRequire, isBuiltin } = require('module');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');
const APP = path.join(DIST, 'app');
const RUNTIME_DEPENDENCIES = Object.keys(require('../package.json').dependencies || {});

// Literal require('...') calls, which is how tsc emits every import and export ... from.
const REQUIRE = /\brequire\(\s*(['"])([^'"\n]+)\1\s*\)/g;

/**
 * Every module reachable from `entry` by literal requires: `files` (absolute paths of the
 * JavaScript files) and `packages` (bare specifiers that resolved outside the package).
 */
function importGraph(entry) {
  const files = new Set();
  const packages = new Set();
  const edges = [];
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop();
    if (files.has(file)) continue;
    files.add(file);
    const resolve = createRequire(file).resolve;
    for (const [, , specifier] of fs.readFileSync(file, 'utf8').matchAll(REQUIRE)) {
      if (isBuiltin(specifier)) continue;
      const target = resolve(specifier);
      edges.push({ from: file, specifier, target });
      if (target.startsWith(ROOT + path.sep) && !target.includes(`${path.sep}node_modules${path.sep}`)) {
        if (target.endsWith('.js')) pending.push(target);
      } else {
        packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
      }
    }
  }
  return { files, packages, edges };
}

const relative = (file) => path.relative(ROOT, file);

describe('layering: the library does not import the application', () => {
  const library = importGraph(path.join(DIST, 'index.js'));

  it('walks the whole library (the walker follows requires)', () => {
    for (const core of ['errors.js', 'tensor.js', 'optim.js', 'nn/index.js']) {
      assert.ok(library.files.has(path.join(DIST, core)), `dist/${core} not reached from dist/index.js`);
    }
  });

  it('no module of the library loads anything under dist/app', () => {
    const intoApp = library.edges.filter(({ target }) => target.startsWith(APP + path.sep));
    assert.deepStrictEqual(
      intoApp.map(({ from, specifier }) => `${relative(from)} requires ${specifier}`),
      [],
    );
  });

  it('the library loads no package beyond Node built-ins and its runtime dependencies', () => {
    const extra = [...library.packages].filter((name) => !RUNTIME_DEPENDENCIES.includes(name));
    assert.deepStrictEqual(extra, []);
  });

  it('the app does reach the library (the check above would see such an edge)', () => {
    const app = importGraph(path.join(APP, 'cli', 'main.js'));
    assert.ok(app.files.has(path.join(APP, 'train', 'train.js')), 'dist/app/train/train.js not reached');
    assert.ok(app.files.has(path.join(DIST, 'index.js')), 'dist/index.js not reached through #lib');
  });
});
