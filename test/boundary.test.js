'use strict';
// The N-API boundary is generated from schema/boundary.json: the committed TS and C++ views must
// be what the generator makes of it, and both sides must read the arrays by the schema's names.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { render, staleFiles, SCHEMA_PATH } = require('../scripts/generate-boundary');
const generated = require('../dist/generated/boundary');
const { native } = require('../dist/binding');

const ROOT = path.resolve(__dirname, '..');
const schema = JSON.parse(fs.readFileSync(path.join(ROOT, SCHEMA_PATH), 'utf8'));
const withSchema = (edit) => {
  const copy = JSON.parse(JSON.stringify(schema));
  edit(copy);
  return copy;
};

/** Every file under `dir` (recursively) whose name ends with one of `extensions`. */
function sourceFiles(dir, extensions) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full, extensions);
    return extensions.some((ext) => entry.name.endsWith(ext)) ? [full] : [];
  });
}

describe('the N-API boundary schema', function () {
  it('the committed generated files are what scripts/generate-boundary.js makes of the schema', function () {
    assert.deepStrictEqual(staleFiles(), [], 'run `node scripts/generate-boundary.js` and commit the result');
  });

  it('refuses a schema with a duplicate field, an unknown kind or a malformed error code', function () {
    assert.throws(() => render(withSchema((s) => s.params[0].fields.push({ name: 'n' }))), /conv field n appears twice/);
    assert.throws(() => render(withSchema((s) => (s.params[1].fields[0].kind = 'Colour'))), /pool\.layout has unknown kind Colour/);
    assert.throws(() => render(withSchema((s) => s.errorCodes.push({ name: 'SHAPE_BAD', meaning: '' }))), /must look like ERR_NAME/);
  });

  it('the TS encoders put each named field at the index the C++ reader reads it from', function () {
    for (const params of schema.params) {
      const Name = params.name[0].toUpperCase() + params.name.slice(1);
      const indices = generated[`${params.name.toUpperCase()}_PARAM`];
      const fields = {};
      const expected = [];
      params.fields.forEach((field, i) => {
        const kind = field.kind ?? 'integer';
        if (kind === 'flag') fields[field.name] = i % 2 === 1;
        else if (kind in schema.enums) fields[field.name] = schema.enums[kind].values[i % 2].name;
        else fields[field.name] = 100 + i;
        expected.push(kind === 'flag' ? i % 2 : kind in schema.enums ? i % 2 : 100 + i);
        assert.strictEqual(indices[field.name], i, `${params.name}.${field.name}`);
      });
      assert.deepStrictEqual(generated[`encode${Name}Params`](fields), expected, params.name);
    }
  });

  it('lists every error code once, in the order of the schema, on the TS side', function () {
    assert.deepStrictEqual(
      generated.ERROR_CODES,
      schema.errorCodes.map((code) => code.name),
    );
  });

  it('every error-code string in the native sources is a code of the schema', function () {
    // C++ throws with ErrorCode values, but the tests compare e.code() with strings, and a
    // misspelt one there would never match.
    const known = new Set(schema.errorCodes.map((code) => code.name));
    const unknown = [];
    for (const file of sourceFiles(path.join(ROOT, 'native'), ['.cpp', '.hpp', '.h'])) {
      for (const [, code] of fs.readFileSync(file, 'utf8').matchAll(/"(ERR_[A-Z0-9_]*)"/g)) {
        if (!known.has(code)) unknown.push(`${path.relative(ROOT, file)}: ${code}`);
      }
    }
    assert.deepStrictEqual(unknown, []);
  });

  describe('the addon reads parameter arrays by the schema', function () {
    const x = new Float32Array(2 * 5 * 5 * 3);
    const w = new Float32Array(3 * 3 * 3 * 4);
    const y = new Float32Array(2 * 5 * 5 * 4);
    const conv = {
      layout: 'NHWC',
      n: 2,
      h: 5,
      w: 5,
      c: 3,
      kh: 3,
      kw: 3,
      cout: 4,
      groups: 1,
      oh: 5,
      ow: 5,
      strideH: 1,
      strideW: 1,
      padTop: 1,
      padLeft: 1,
      padBottom: 1,
      padRight: 1,
      dilationH: 1,
      dilationW: 1,
    };
    const call = (params) => {
      try {
        native().conv2dForward(x, w, null, y, params, null);
        return null;
      } catch (error) {
        return error;
      }
    };

    it('accepts the encoded array of a valid convolution', function () {
      assert.strictEqual(call(generated.encodeConvParams(conv)), null);
    });

    it('names the field, as TS spells it, that holds a bad value', function () {
      const fractional = [...generated.encodeConvParams(conv)];
      fractional[generated.CONV_PARAM.strideW] = 1.5;
      const error = call(fractional);
      assert.strictEqual(error && error.code, 'ERR_ARG');
      assert.match(error.message, /^conv params\.strideW must be an integer, got 1\.5/);

      const layout = [...generated.encodeConvParams(conv)];
      layout[generated.CONV_PARAM.layout] = 2;
      const bad = call(layout);
      assert.strictEqual(bad && bad.code, 'ERR_ARG');
      assert.match(bad.message, /^conv params\.layout must be 0 \(NHWC\) or 1 \(NCHW\), got 2/);
    });

    it('reads dilationH where TS writes it: a dilation that leaves no output is refused natively', function () {
      // Dilation 4 spans 9 rows, more than the 5 + 2 padded ones: refused only if read as dilationH.
      const error = call(generated.encodeConvParams({ ...conv, dilationH: 4 }));
      assert.strictEqual(error && error.code, 'ERR_SHAPE');
      assert.match(error.message, /dilation 4x1/);
    });

    it('refuses an array of the wrong length, naming the schema entry', function () {
      const error = call(generated.encodeConvParams(conv).slice(0, -1));
      assert.strictEqual(error && error.code, 'ERR_ARG');
      assert.match(error.message, /^conv params must have 19 entries, got 18/);
    });
  });
});
