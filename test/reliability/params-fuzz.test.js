'use strict';
// Fuzzing of the parameter-file reader (nn.loadParameters) from the corpus in
// test/fixtures/params-corpus: valid files mutated by bit flips, byte writes, truncation,
// appended bytes, edits of the header-length field and of the header's JSON (fields deleted,
// replaced by any JSON value or by near-miss numbers, entries swapped, dropped or duplicated).
// Every load must either succeed with exactly the bytes the file's header points at (checked by
// a decoder written here, independently) or throw a coded ConvkitError leaving the model as it
// was: never a TypeError or RangeError, a partial assignment or a hang.
//
// The fuzzing runs in a child process (this file, run directly) under a time limit, so that a
// hang fails the test instead of stopping the suite. CONVKIT_PARAMS_FUZZ_RUNS sets the number of
// mutated files (default 300), CONVKIT_PARAMS_FUZZ_SEED reproduces a run.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const corpus = require('../fixtures/params-corpus/models');

const RUNS = Number(process.env.CONVKIT_PARAMS_FUZZ_RUNS || 300);
const SEED = Number(process.env.CONVKIT_PARAMS_FUZZ_SEED || 13);
const CODES = new Set(['ERR_ARG', 'ERR_SHAPE', 'ERR_DTYPE']);
const NAMES = Object.keys(corpus.MODELS);

function bytesOf(model) {
  return model.parameters().map((p) => Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).slice());
}

/**
 * What a correct reader must have loaded from `file` into `names`, decoded here without convkit:
 * for each parameter the bytes its header entry points at, or a reason the file is not valid.
 */
function referenceDecode(file, names) {
  if (file.length < 16 || file.toString('latin1', 0, 8) !== 'CVKPARAM' || file.readUInt32LE(8) !== 1) return { invalid: 'preamble' };
  const dataStart = 16 + file.readUInt32LE(12);
  if (dataStart > file.length) return { invalid: 'header length' };
  let header;
  try {
    header = JSON.parse(file.toString('utf8', 16, dataStart));
  } catch {
    return { invalid: 'header JSON' };
  }
  const tensors = header && header.tensors;
  if (!Array.isArray(tensors) || tensors.length !== names.length) return { invalid: 'tensors' };
  const loaded = [];
  for (let i = 0; i < names.length; i++) {
    const { name, offset, byteLength } = tensors[i] || {};
    if (name !== names[i] || !Number.isInteger(offset) || !Number.isInteger(byteLength) || offset < 0) return { invalid: `entry ${i}` };
    if (dataStart + offset + byteLength > file.length) return { invalid: `entry ${i} past the end` };
    loaded.push(file.subarray(dataStart + offset, dataStart + offset + byteLength));
  }
  return { loaded };
}

// ---------------------------------------------------------------------------------------------
// The child: the fuzzing itself.

function runFuzz() {
  const fc = require('fast-check');
  const convkit = require('../../dist');
  const originals = NAMES.map((name) => fs.readFileSync(corpus.fileOf(name)));
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'convkit-params-fuzz-'));
  const target = path.join(folder, 'mutated.params');
  const outcomes = { loaded: 0, refused: {} };

  const NEAR_MISSES = [-8, -1, 0, 1, 4, 7, 8, 9, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1e300, 0.5, -0, '8', '', null, true, [], {}, [8], 'NCHW', 'float32'];
  const jsonish = fc.oneof(fc.constantFrom(...NEAR_MISSES), fc.jsonValue({ maxDepth: 2 }));
  const FIELDS = ['name', 'dtype', 'shape', 'offset', 'byteLength'];

  /** Re-encodes a file around a new header text; `lengthDelta` skews the header-length field. */
  function withHeader(original, text, lengthDelta) {
    const oldLength = original.readUInt32LE(12);
    const data = original.subarray(16 + oldLength);
    const length = Math.ceil((16 + Buffer.byteLength(text)) / 8) * 8 - 16;
    const file = Buffer.alloc(16 + length + data.length, 0x20);
    original.copy(file, 0, 0, 12);
    file.writeUInt32LE(Math.max(0, length + lengthDelta) >>> 0, 12);
    file.write(text, 16, 'utf8');
    data.copy(file, 16 + length);
    return file;
  }

  const isObject = (value) => value !== null && typeof value === 'object';

  /** Applies one structural edit to a parsed header (which may not survive as an object). */
  function editHeader(header, edit) {
    const tensors = Array.isArray(header.tensors) ? header.tensors : [];
    const entry = tensors.length ? tensors[edit.index % tensors.length] : null;
    switch (edit.kind) {
      case 'deleteField':
        if (isObject(entry)) delete entry[FIELDS[edit.field % FIELDS.length]];
        return header;
      case 'setField':
        if (isObject(entry)) entry[FIELDS[edit.field % FIELDS.length]] = edit.value;
        return header;
      case 'nudgeOffset':
        if (isObject(entry)) entry.offset += edit.delta;
        return header;
      case 'setEntry':
        if (tensors.length) tensors[edit.index % tensors.length] = edit.value;
        return header;
      case 'swapEntries':
        if (tensors.length > 1) {
          const j = (edit.index + 1) % tensors.length;
          const i = edit.index % tensors.length;
          [tensors[i], tensors[j]] = [tensors[j], tensors[i]];
        }
        return header;
      case 'swapOffsets': {
        const [a, b] = [tensors[edit.index % tensors.length], tensors[(edit.index + 1) % tensors.length]];
        if (tensors.length > 1 && isObject(a) && isObject(b)) [a.offset, b.offset] = [b.offset, a.offset];
        return header;
      }
      case 'dropEntry':
        tensors.splice(edit.index % Math.max(1, tensors.length), 1);
        return header;
      case 'duplicateEntry':
        if (entry) tensors.push(JSON.parse(JSON.stringify(entry)));
        return header;
      case 'setTop':
        header[['layout', 'tensors', 'extra'][edit.field % 3]] = edit.value;
        return header;
      case 'deleteTop':
        delete header[['layout', 'tensors'][edit.field % 2]];
        return header;
      case 'replaceHeader':
        return edit.value;
      default:
        throw new Error(`unknown edit ${edit.kind}`);
    }
  }

  const headerEdit = fc.record({
    kind: fc.constantFrom(
      'deleteField',
      'setField',
      'nudgeOffset',
      'setEntry',
      'swapEntries',
      'swapOffsets',
      'dropEntry',
      'duplicateEntry',
      'setTop',
      'deleteTop',
      'replaceHeader',
    ),
    index: fc.nat(8),
    field: fc.nat(8),
    value: jsonish,
    delta: fc.constantFrom(-16, -8, -4, -1, 1, 4, 8, 16, 1024),
  });

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flipBits'), flips: fc.array(fc.tuple(fc.nat(), fc.nat(7)), { minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('writeBytes'), writes: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }) }),
    fc.record({ kind: fc.constant('truncate'), at: fc.nat() }),
    fc.record({ kind: fc.constant('append'), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    fc.record({
      kind: fc.constant('headerLength'),
      value: fc.oneof(
        fc.nat(),
        fc.integer({ min: -24, max: 24 }).map((d) => ({ delta: d })),
      ),
    }),
    fc.record({ kind: fc.constant('editHeader'), edits: fc.array(headerEdit, { minLength: 1, maxLength: 3 }), lengthDelta: fc.constantFrom(0, 0, 0, -8, 8) }),
    fc.record({ kind: fc.constant('editHeaderText'), at: fc.nat(), remove: fc.nat(4), insert: fc.string({ maxLength: 6 }) }),
  );

  function mutate(original, m) {
    const file = Buffer.from(original);
    switch (m.kind) {
      case 'flipBits':
        for (const [position, bit] of m.flips) file[position % file.length] ^= 1 << bit;
        return file;
      case 'writeBytes':
        for (const [position, value] of m.writes) file[position % file.length] = value;
        return file;
      case 'truncate':
        return file.subarray(0, m.at % file.length);
      case 'append':
        return Buffer.concat([file, m.bytes]);
      case 'headerLength':
        file.writeUInt32LE(typeof m.value === 'number' ? m.value >>> 0 : Math.max(0, file.readUInt32LE(12) + m.value.delta), 12);
        return file;
      case 'editHeader': {
        let header = JSON.parse(file.toString('utf8', 16, 16 + file.readUInt32LE(12)));
        for (const edit of m.edits) header = isObject(header) ? editHeader(header, edit) : header;
        return withHeader(original, JSON.stringify(header) ?? '', m.lengthDelta);
      }
      case 'editHeaderText': {
        const text = file.toString('utf8', 16, 16 + file.readUInt32LE(12)).trimEnd();
        const at = m.at % (text.length + 1);
        return withHeader(original, text.slice(0, at) + m.insert + text.slice(at + m.remove), 0);
      }
      default:
        throw new Error(`unknown mutation ${m.kind}`);
    }
  }

  const property = fc.property(fc.nat(NAMES.length - 1), mutation, (which, m) => {
    const name = NAMES[which];
    const file = mutate(originals[which], m);
    fs.writeFileSync(target, file);
    // Another seed: every parameter differs from the corpus values, so an assignment shows.
    const model = corpus.build(convkit, name, corpus.CORPUS_SEED + 1);
    const before = bytesOf(model);
    const names = model.namedParameters().map(([n]) => n);
    let error = null;
    try {
      convkit.nn.loadParameters(model, target);
    } catch (caught) {
      error = caught;
    }
    const after = bytesOf(model);
    if (error !== null) {
      assert.ok(error instanceof convkit.ConvkitError, `${name}, ${JSON.stringify(m)}: threw ${error && error.stack}`);
      assert.ok(CODES.has(error.code), `${name}: unexpected code ${error.code}: ${error.message}`);
      after.forEach((bytes, i) => assert.ok(bytes.equals(before[i]), `${name}: parameter ${i} changed by a load that failed (${error.message})`));
      outcomes.refused[error.code] = (outcomes.refused[error.code] || 0) + 1;
      return;
    }
    const reference = referenceDecode(file, names);
    assert.ok(reference.loaded, `${name}, ${JSON.stringify(m)}: loaded a file that is not valid (${reference.invalid})`);
    after.forEach((bytes, i) => assert.ok(bytes.equals(reference.loaded[i]), `${name}, ${JSON.stringify(m)}: parameter ${i} is not what the file holds`));
    outcomes.loaded++;
  });

  try {
    // The corpus itself: every file loads, with the values of the model it was written from.
    NAMES.forEach((name) => {
      const model = corpus.build(convkit, name, corpus.CORPUS_SEED + 1);
      convkit.nn.loadParameters(model, corpus.fileOf(name));
      const expected = bytesOf(corpus.build(convkit, name));
      bytesOf(model).forEach((bytes, i) => assert.ok(bytes.equals(expected[i]), `corpus ${name}: parameter ${i} differs from its model`));
    });
    fc.assert(property, { numRuns: RUNS, seed: SEED });
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(outcomes));
}

// ---------------------------------------------------------------------------------------------
// The mocha side: run the child, with a time limit.

if (require.main === module) {
  runFuzz();
} else {
  describe('parameter-file fuzzing', function () {
    const limitMs = 60000 + RUNS * 50;
    this.timeout(limitMs + 10000);

    it(`${RUNS} mutated corpus files each load exactly or throw a coded error, leaving the model unchanged`, () => {
      const child = spawnSync(process.execPath, [__filename], { encoding: 'utf8', timeout: limitMs, maxBuffer: 16 * 2 ** 20 });
      assert.strictEqual(child.signal, null, `the fuzzer hung (killed after ${limitMs / 1000} s): ${child.stdout}${child.stderr}`);
      assert.strictEqual(child.status, 0, child.stderr || child.stdout);
      const outcomes = JSON.parse(child.stdout);
      // Both outcomes must occur, or the mutations are not reaching the reader's decisions.
      assert.ok(outcomes.loaded > 0, `no mutated file loaded: ${child.stdout}`);
      assert.ok(Object.values(outcomes.refused).reduce((a, b) => a + b, 0) > RUNS / 4, `few files refused: ${child.stdout}`);
    });
  });
}
