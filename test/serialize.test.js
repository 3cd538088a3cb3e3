'use strict';
// Parameter files (lib/serialize.ts, lib/files.ts): saves are atomic (a failure or a kill mid-save
// leaves the old file whole, a concurrent reader never sees a partial file), and the loader checks
// the whole header and reads only regular files of a bounded size, with coded errors throughout.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync, execFileSync } = require('child_process');
const convkit = require('../dist');
const { thrown } = require('./helpers');

const { nn } = convkit;
const DIST = path.join(__dirname, '..', 'dist');

/** A small model whose values depend on the seed: two conv tensors and two linear ones. */
function model(seed) {
  return new nn.Sequential(
    new nn.Conv2d(2, 3, 3, { layout: 'NCHW', generator: new nn.Generator(seed) }),
    new nn.ReLU(),
    new nn.Flatten(),
    new nn.Linear(12, 4, { generator: new nn.Generator(seed + 1) }),
  );
}

/** Copies of every parameter's bytes. */
function snapshot(m) {
  return m.parameters().map((p) => Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).slice());
}

function assertSameParameters(m, expected, label) {
  const actual = snapshot(m);
  assert.strictEqual(actual.length, expected.length, label);
  actual.forEach((bytes, i) => assert.ok(bytes.equals(expected[i]), `${label}: parameter ${i} differs`));
}

/** The file's header as parsed JSON, and its data bytes. */
function splitFile(bytes) {
  const headerLength = bytes.readUInt32LE(12);
  return { header: JSON.parse(bytes.toString('utf8', 16, 16 + headerLength)), data: bytes.subarray(16 + headerLength) };
}

/** The same file with its header replaced by `header` (any JSON text), padded as the writer pads it. */
function withHeaderText(bytes, text) {
  const { data } = splitFile(bytes);
  const length = Math.ceil((16 + Buffer.byteLength(text)) / 8) * 8 - 16;
  const out = Buffer.alloc(16 + length + data.length, 0x20);
  bytes.copy(out, 0, 0, 12);
  out.writeUInt32LE(length, 12);
  out.write(text, 16, 'utf8');
  data.copy(out, 16 + length);
  return out;
}

describe('parameter files', function () {
  this.timeout(60000);
  let folder;
  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'convkit-params-'));
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  describe('loading checks the whole header before assigning anything', () => {
    const edits = [
      ['an entry without offset', (h) => delete h.tensors[1].offset],
      ['a negative offset (bytes of the header)', (h) => (h.tensors[1].offset = -48)],
      ['an offset that is not a multiple of 8', (h) => (h.tensors[1].offset += 4)],
      ['an offset past the data', (h) => (h.tensors[3].offset += 4096)],
      ['an offset given as a string', (h) => (h.tensors[0].offset = String(h.tensors[0].offset))],
      ['a byteLength that disagrees with the shape', (h) => (h.tensors[2].byteLength -= 4)],
      ['two tensors over the same bytes', (h) => (h.tensors[3].offset = h.tensors[2].offset)],
      ['tensors that is not an array', (h) => (h.tensors = { 0: h.tensors[0] })],
      ['an entry that is null', (h) => (h.tensors[2] = null)],
      ['an entry that is an array', (h) => (h.tensors[2] = [1, 2])],
      ['a name that is not a string', (h) => (h.tensors[0].name = 7)],
      ['an unknown dtype', (h) => (h.tensors[0].dtype = 'int8')],
      ['a shape with a negative size', (h) => (h.tensors[0].shape = [-3, 2, 3, 3])],
      ['a shape that is a string', (h) => (h.tensors[0].shape = '3,2,3,3')],
      ['no layout field', (h) => delete h.layout],
      ['an unknown layout', (h) => (h.layout = 'NWHC')],
    ];
    for (const [what, edit] of edits) {
      it(`refuses ${what} (ERR_ARG), leaving the model unchanged`, () => {
        const file = path.join(folder, 'model.params');
        nn.saveParameters(model(1), file);
        const bytes = fs.readFileSync(file);
        const { header } = splitFile(bytes);
        edit(header);
        fs.writeFileSync(file, withHeaderText(bytes, JSON.stringify(header)));
        const target = model(2);
        const before = snapshot(target);
        const error = thrown(() => nn.loadParameters(target, file));
        assert.ok(error instanceof convkit.ConvkitError, `${error}`);
        assert.strictEqual(error.code, 'ERR_ARG', error.message);
        assert.match(error.message, /is not a convkit parameter file/);
        assertSameParameters(target, before, what);
      });
    }

    for (const [what, header] of [
      ['a header that is JSON but not an object', '[1, 2]'],
      ['a header that is null', 'null'],
      ['a header that is not JSON', '{"layout": "NCHW", "tensors": ['],
    ]) {
      it(`refuses ${what}`, () => {
        const file = path.join(folder, 'model.params');
        nn.saveParameters(model(1), file);
        fs.writeFileSync(file, withHeaderText(fs.readFileSync(file), header));
        const target = model(2);
        const before = snapshot(target);
        assert.throws(() => nn.loadParameters(target, file), { code: 'ERR_ARG', message: /is not a convkit parameter file/ });
        assertSameParameters(target, before, what);
      });
    }

    it('refuses a header length past the file, or one that does not leave the data aligned', () => {
      const file = path.join(folder, 'model.params');
      nn.saveParameters(model(1), file);
      const bytes = fs.readFileSync(file);
      for (const length of [0xfffffff8, bytes.readUInt32LE(12) - 1, bytes.length]) {
        const edited = Buffer.from(bytes);
        edited.writeUInt32LE(length, 12);
        fs.writeFileSync(file, edited);
        assert.throws(() => nn.loadParameters(model(2), file), { code: 'ERR_ARG', message: /is not a convkit parameter file/ }, `header length ${length}`);
      }
    });

    it('still loads its own files bit for bit, and files of another model give the model mismatch error', () => {
      const file = path.join(folder, 'model.params');
      const source = model(1);
      nn.saveParameters(source, file);
      const target = model(5);
      nn.loadParameters(target, file);
      assertSameParameters(target, snapshot(source), 'round trip');
      const other = new nn.Sequential(new nn.Conv2d(2, 3, 3, { layout: 'NCHW' }));
      assert.throws(() => nn.loadParameters(other, file), {
        code: 'ERR_ARG',
        message: /not a convkit parameter file.*more than the \d+ a file of this model's parameters can have/,
      });
      const wider = new nn.Sequential(new nn.Conv2d(2, 3, 3, { layout: 'NCHW' }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(12, 5));
      assert.throws(() => nn.loadParameters(wider, file), { code: 'ERR_SHAPE', message: /3.weight has shape \[4, 12\] in .*, but \[5, 12\] in the model/ });
    });
  });

  describe('loading reads only regular files, of a bounded size', () => {
    it('maps a missing file to ERR_IO and a folder to ERR_ARG', () => {
      const missing = thrown(() => nn.loadParameters(model(1), path.join(folder, 'nope.params')));
      assert.ok(missing instanceof convkit.ConvkitError, `${missing}`);
      assert.strictEqual(missing.code, 'ERR_IO');
      assert.match(missing.message, /nope\.params.*no such file or folder \(ENOENT\)/);
      assert.throws(() => nn.loadParameters(model(1), folder), { code: 'ERR_ARG', message: /file must be a regular file, got ".*", a folder/ });
    });

    it('refuses a path that is not a non-empty string (a number would be read as a file descriptor)', () => {
      for (const bad of [2 ** 30, -1, '', Buffer.from(folder), null, 'a\0b']) {
        const error = thrown(() => nn.loadParameters(model(1), bad));
        assert.ok(error instanceof convkit.ConvkitError, `${typeof bad}: ${error}`);
        assert.strictEqual(error.code, 'ERR_ARG');
        assert.match(error.message, /file must be a non-empty path string/);
        assert.strictEqual(thrown(() => nn.saveParameters(model(1), bad)).code, 'ERR_ARG');
      }
    });

    /** Runs `body` (a script given `convkit`, `model` and `file`) in a child; returns its status, output and time. */
    function runChild(body, file, options = {}) {
      const script = `
        const convkit = require(${JSON.stringify(DIST)});
        const { nn } = convkit;
        const model = new nn.Sequential(new nn.Linear(3, 2));
        const file = ${JSON.stringify(file)};
        try { ${body}; console.log('loaded'); }
        catch (error) { console.log(error instanceof convkit.ConvkitError ? error.code + ' ' + error.message : 'raw ' + error); }`;
      const started = Date.now();
      const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10000, ...options });
      return { ...child, seconds: (Date.now() - started) / 1000 };
    }

    it('fd 0 given as the file is refused at once, not read (a child whose stdin stays open)', async () => {
      const script = `
        const convkit = require(${JSON.stringify(DIST)});
        try { convkit.nn.loadParameters(new convkit.nn.Sequential(new convkit.nn.Linear(3, 2)), 0); console.log('loaded'); }
        catch (error) { console.log(error.code); }`;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      const [code, signal] = await new Promise((resolve) => child.on('exit', (...args) => resolve(args)));
      clearTimeout(timer);
      child.stdin.destroy();
      assert.strictEqual(signal, null, 'hung reading stdin (killed after 10 s)');
      assert.strictEqual(code, 0);
      assert.strictEqual(output.trim(), 'ERR_ARG');
    });

    it('a FIFO is refused without waiting for a writer', function () {
      const fifo = path.join(folder, 'fifo.params');
      execFileSync('mkfifo', [fifo]);
      const child = runChild('nn.loadParameters(model, file)', fifo);
      assert.strictEqual(child.signal, null, `hung on the FIFO (killed after ${child.seconds} s)`);
      assert.match(child.stdout, /^ERR_ARG .*file must be a regular file, got ".*fifo.params", a FIFO/);
    });

    it('/dev/zero is refused without reading it', function () {
      const child = runChild('nn.loadParameters(model, file)', '/dev/zero');
      assert.strictEqual(child.signal, null, `still reading /dev/zero after ${child.seconds} s`);
      assert.match(child.stdout, /^ERR_ARG .*file must be a regular file, got "\/dev\/zero", a character device/);
      assert.ok(child.seconds < 5, `took ${child.seconds} s`);
    });

    it('a file longer than the model needs is refused before it is read (1 GiB, sparse)', () => {
      const file = path.join(folder, 'long.params');
      const source = new nn.Sequential(new nn.Linear(3, 2));
      nn.saveParameters(source, file);
      fs.truncateSync(file, 2 ** 30);
      const target = new nn.Sequential(new nn.Linear(3, 2));
      const before = snapshot(target);
      const rss = process.memoryUsage().rss;
      const started = process.hrtime.bigint();
      assert.throws(() => nn.loadParameters(target, file), {
        code: 'ERR_ARG',
        message: /1073741824 bytes, more than the \d+ a file of this model's parameters can have/,
      });
      assert.ok(Number(process.hrtime.bigint() - started) < 200e6, 'slow enough to have read the file');
      assert.ok(process.memoryUsage().rss - rss < 64 * 2 ** 20, 'RSS grew: the file was read');
      assertSameParameters(target, before, 'after the refusal');
    });
  });

  describe('saving is atomic', () => {
    /** A model of about 8 MB, so that a write is long enough to be cut. */
    const bigModel = (seed) => new nn.Sequential(new nn.Linear(1024, 1024, { dtype: 'float64', generator: new nn.Generator(seed) }));

    /** A child that saves bigModel(seed) to file after running `setup`; returns spawnSync's result. */
    function saveInChild(file, seed, setup, shell = '') {
      const script = `
        const fs = require('fs');
        const convkit = require(${JSON.stringify(DIST)});
        const { nn } = convkit;
        const model = new nn.Sequential(new nn.Linear(1024, 1024, { dtype: 'float64', generator: new nn.Generator(${seed}) }));
        ${setup}
        try { nn.saveParameters(model, ${JSON.stringify(file)}); console.log('saved'); }
        catch (error) { console.log(error instanceof convkit.ConvkitError ? error.code + ' ' + error.message : 'raw ' + error); }`;
      return spawnSync('bash', ['-c', `${shell} exec "${process.execPath}" -e '${script.replace(/'/g, "'\\''")}'`], { encoding: 'utf8', timeout: 30000 });
    }

    it('a process killed (SIGKILL) mid-write leaves the old file whole and loadable', () => {
      const file = path.join(folder, 'model.params');
      const old = bigModel(1);
      nn.saveParameters(old, file);
      // The child kills itself once half of the new file is written: no cleanup code can run.
      const child = saveInChild(
        file,
        2,
        `const write = fs.writeSync;
         fs.writeSync = (fd, data, offset, length, ...rest) => {
           write(fd, data, offset, Math.floor(length / 2), ...rest);
           process.kill(process.pid, 'SIGKILL');
         };`,
      );
      assert.strictEqual(child.signal, 'SIGKILL', `the child was not killed mid-write: ${child.stdout}${child.stderr}`);
      const loaded = bigModel(3);
      nn.loadParameters(loaded, file);
      assertSameParameters(loaded, snapshot(old), 'after the kill');
      // What is left besides the model is at most the dead writer's hidden temporary file.
      for (const name of fs.readdirSync(folder)) assert.ok(name === 'model.params' || /^\.model\.params\..*\.tmp$/.test(name), name);
    });

    it('a write that fails (EFBIG under ulimit -f, as a full disk would) is ERR_IO, leaves the old file and no temporary file', () => {
      const file = path.join(folder, 'model.params');
      const old = bigModel(1);
      nn.saveParameters(old, file);
      const before = fs.readFileSync(file);
      const child = saveInChild(file, 2, '', 'ulimit -f 1024 &&');
      assert.strictEqual(child.status, 0, child.stderr);
      assert.match(child.stdout.trim(), /^ERR_IO nn\.saveParameters: could not write ".*model\.params": file too large \(EFBIG\)$/);
      assert.ok(fs.readFileSync(file).equals(before), 'the old file changed');
      assert.deepStrictEqual(fs.readdirSync(folder), ['model.params']);
      const loaded = bigModel(3);
      nn.loadParameters(loaded, file);
      assertSameParameters(loaded, snapshot(old), 'after the failed save');
    });

    it('a target that cannot be replaced (a folder) is ERR_IO, and the temporary file is removed', () => {
      const target = path.join(folder, 'model.params');
      fs.mkdirSync(target);
      fs.writeFileSync(path.join(target, 'keep'), 'x');
      const error = thrown(() => nn.saveParameters(model(1), target));
      assert.ok(error instanceof convkit.ConvkitError, `${error}`);
      assert.strictEqual(error.code, 'ERR_IO');
      assert.match(error.message, /could not write ".*model\.params"/);
      assert.deepStrictEqual(fs.readdirSync(folder), ['model.params']);
      assert.deepStrictEqual(fs.readdirSync(target), ['keep']);
    });

    it('keeps the permissions of the file it replaces, and replaces the target of a symbolic link', () => {
      const real = path.join(folder, 'real.params');
      const link = path.join(folder, 'link.params');
      nn.saveParameters(model(1), real);
      fs.chmodSync(real, 0o600);
      fs.symlinkSync(real, link);
      const source = model(4);
      nn.saveParameters(source, link);
      assert.ok(fs.lstatSync(link).isSymbolicLink());
      assert.strictEqual(fs.statSync(real).mode & 0o777, 0o600);
      const loaded = model(5);
      nn.loadParameters(loaded, real);
      assertSameParameters(loaded, snapshot(source), 'through the link');
    });

    it('a reader never sees a partial file while another process saves in a loop', async function () {
      const file = path.join(folder, 'model.params');
      const models = [bigModel(1), bigModel(2)];
      nn.saveParameters(models[0], file);
      const expected = models.map(snapshot);
      const script = `
        const convkit = require(${JSON.stringify(DIST)});
        const { nn } = convkit;
        const models = [1, 2].map((seed) => new nn.Sequential(new nn.Linear(1024, 1024, { dtype: 'float64', generator: new nn.Generator(seed) })));
        console.log('ready');
        for (let i = 0; i < 2000; i++) nn.saveParameters(models[i % 2], ${JSON.stringify(file)});`;
      const writer = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await new Promise((resolve, reject) => {
          writer.stdout.once('data', resolve);
          writer.once('exit', () => reject(new Error('the writer exited early')));
        });
        const seen = [0, 0];
        const reader = bigModel(3);
        const deadline = Date.now() + 2000;
        let loads = 0;
        while (loads < 200 && Date.now() < deadline) {
          nn.loadParameters(reader, file);
          const bytes = snapshot(reader);
          const which = expected.findIndex((candidate) => candidate.every((b, i) => b.equals(bytes[i])));
          assert.ok(which >= 0, `load ${loads} gave neither saved model`);
          seen[which]++;
          loads++;
        }
        assert.ok(seen[0] > 0 && seen[1] > 0, `the file did not change while being read (${seen} of ${loads} loads)`);
      } finally {
        writer.kill('SIGKILL');
      }
    });
  });
});
