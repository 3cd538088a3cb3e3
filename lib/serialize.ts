// Model parameters on disk, loaded back bit for bit. The format (version 1):
//
//   bytes 0-7     the ASCII magic "CVKPARAM"
//   bytes 8-11    format version, uint32 little-endian (1)
//   bytes 12-15   header length H, uint32 little-endian
//   bytes 16-...  header: H bytes of UTF-8 JSON, space-padded so that the data starts at a
//                 multiple of 8:
//                   { "layout": "NHWC" | "NCHW" | null,
//                     "tensors": [{ "name": "0.weight", "dtype": "float32", "shape": [5, 5, 1, 6],
//                                   "offset": 0, "byteLength": 600 }, ...] }
//   then          each tensor's elements, row-major, little-endian IEEE 754, at (16 + H + offset);
//                 offsets are multiples of 8.
//
// Names are those of module.namedParameters() (PyTorch's state_dict names); layout is the
// model's activation layout, which fixes the order of convolution weights and of the features
// after a Flatten.
import * as fs from 'fs';
import * as os from 'os';
import { ConvkitError, describe, fail } from './errors';
import { checkPath, openRegularFile, readAt, writeFileAtomic } from './files';
import { Module, Parameter } from './nn/module';
import { dtypeOf } from './shapes';
import type { DType, FloatArray, Layout } from './tensor';

const MAGIC = 'CVKPARAM';
const VERSION = 1;
const PREAMBLE_BYTES = 16;
const ALIGNMENT = 8;
const BYTES_PER_ELEMENT: Record<DType, number> = { float32: 4, float64: 8 };
/** A header may be laid out differently (pretty-printed, say), but not be much longer than ours. */
const HEADER_SLACK = (compactBytes: number): number => 4 * compactBytes + 4096;

interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  byteLength: number;
}

interface Header {
  layout: Layout | null;
  tensors: TensorEntry[];
}

const alignUp = (value: number): number => Math.ceil(value / ALIGNMENT) * ALIGNMENT;

/** The raw bytes of a typed array in little-endian order (a view when the machine is little-endian). */
function littleEndianBytes(data: FloatArray): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return os.endianness() === 'LE' ? bytes : reverseEachElement(bytes.slice(), data.BYTES_PER_ELEMENT);
}

function reverseEachElement(bytes: Uint8Array, width: number): Uint8Array {
  for (let start = 0; start < bytes.length; start += width) bytes.subarray(start, start + width).reverse();
  return bytes;
}

/** The header saveParameters writes for this model (compact JSON), and the data bytes after it. */
function headerOf(named: [string, Parameter][], layout: Layout | null): { json: string; tensors: TensorEntry[]; dataBytes: number } {
  let offset = 0;
  const tensors = named.map(([name, parameter]): TensorEntry => {
    const entry = { name, dtype: parameter.dtype, shape: parameter.shape.slice(), offset, byteLength: parameter.data.byteLength };
    offset = alignUp(offset + entry.byteLength);
    return entry;
  });
  return { json: JSON.stringify({ layout, tensors } satisfies Header), tensors, dataBytes: offset };
}

function encode(model: Module): Buffer {
  const named = model.namedParameters();
  const { json, tensors, dataBytes } = headerOf(named, model.layout);
  const headerBytes = alignUp(PREAMBLE_BYTES + Buffer.byteLength(json)) - PREAMBLE_BYTES;
  const file = Buffer.alloc(PREAMBLE_BYTES + headerBytes + dataBytes);
  file.write(MAGIC, 0, 'ascii');
  file.writeUInt32LE(VERSION, 8);
  file.writeUInt32LE(headerBytes, 12);
  file.write(json.padEnd(headerBytes, ' '), PREAMBLE_BYTES, 'utf8');
  const dataStart = PREAMBLE_BYTES + headerBytes;
  named.forEach(([, parameter], index) => file.set(littleEndianBytes(parameter.data), dataStart + tensors[index].offset));
  return file;
}

/**
 * Writes every parameter of the model to `file` (format above), atomically: the file is written
 * beside the target and renamed over it, so that a crash or a full disk leaves the old file whole
 * and a concurrent reader sees the old file or the new one. File system failures are ERR_IO.
 */
export function saveParameters(model: Module, file: string): void {
  const op = 'nn.saveParameters';
  if (!(model instanceof Module)) fail('ERR_ARG', op, 'model', 'an nn.Module', model);
  checkPath(op, 'file', file);
  writeFileAtomic(op, file, encode(model));
}

/**
 * Reads `file` into the model's parameters, in place (optimisers holding them keep working). The
 * file must hold exactly the model's parameters: same names, dtypes and shapes, same layout.
 * Everything is checked before anything is assigned, so a failure leaves the model as it was.
 * Only regular files are read, and never more bytes than a file for this model can have.
 */
export function loadParameters(model: Module, file: string): void {
  const op = 'nn.loadParameters';
  if (!(model instanceof Module)) fail('ERR_ARG', op, 'model', 'an nn.Module', model);
  checkPath(op, 'file', file);
  const named = model.namedParameters();
  const expected = headerOf(named, model.layout);
  const { bytes, dataStart } = readParameterFile(op, file, Buffer.byteLength(expected.json), expected.dataBytes);
  const header = parseHeader(op, file, bytes.toString('utf8', PREAMBLE_BYTES, dataStart), bytes.length - dataStart);
  matchModel(op, file, header, named, model.layout);
  named.forEach(([, parameter], index) => {
    const entry = header.tensors[index];
    const target = new Uint8Array(parameter.data.buffer, parameter.data.byteOffset, parameter.data.byteLength);
    target.set(bytes.subarray(dataStart + entry.offset, dataStart + entry.offset + entry.byteLength));
    if (os.endianness() !== 'LE') reverseEachElement(target, parameter.data.BYTES_PER_ELEMENT);
  });
}

function corruptError(op: string, file: string, why: string): ConvkitError {
  return new ConvkitError('ERR_ARG', `${op}: ${describe(file)} is not a convkit parameter file (${why})`);
}

/**
 * The whole file, read only once the preamble says it is a parameter file whose size fits this
 * model: its header at most HEADER_SLACK of ours, its data at most `dataBytes`.
 */
function readParameterFile(op: string, file: string, compactHeaderBytes: number, dataBytes: number): { bytes: Buffer; dataStart: number } {
  const { fd, size } = openRegularFile(op, file);
  try {
    const preamble = readAt(op, file, fd, 0, PREAMBLE_BYTES);
    if (preamble.length < PREAMBLE_BYTES || preamble.toString('latin1', 0, 8) !== MAGIC) {
      throw corruptError(op, file, `no ${MAGIC} magic`);
    }
    const version = preamble.readUInt32LE(8);
    if (version !== VERSION) throw corruptError(op, file, `format version ${version}, this convkit reads ${VERSION}`);
    const headerBytes = preamble.readUInt32LE(12);
    const headerLimit = HEADER_SLACK(compactHeaderBytes);
    if (headerBytes > headerLimit) {
      throw corruptError(op, file, `a header of ${headerBytes} bytes, where one for this model's parameters takes at most ${headerLimit}`);
    }
    const dataStart = PREAMBLE_BYTES + headerBytes;
    if (dataStart % ALIGNMENT !== 0) throw corruptError(op, file, `its data starts at byte ${dataStart}, not a multiple of ${ALIGNMENT}`);
    if (size < dataStart) throw corruptError(op, file, `${size} bytes, truncated inside its ${headerBytes}-byte header`);
    if (size > dataStart + dataBytes) {
      throw corruptError(op, file, `${size} bytes, more than the ${dataStart + dataBytes} a file of this model's parameters can have`);
    }
    const bytes = readAt(op, file, fd, 0, size);
    if (bytes.length < size) throw corruptError(op, file, `it shrank from ${size} to ${bytes.length} bytes while being read`);
    return { bytes, dataStart };
  } finally {
    fs.closeSync(fd);
  }
}

/** An own property of a parsed JSON object (Object.prototype must not supply a missing field). */
function field(object: object, key: string): unknown {
  return Object.hasOwn(object, key) ? (object as Record<string, unknown>)[key] : undefined;
}

const isObject = (value: unknown): value is object => value !== null && typeof value === 'object' && !Array.isArray(value);
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** The header, every field checked for type and range, and every tensor inside the data and apart from the others. */
function parseHeader(op: string, file: string, json: string, dataBytes: number): Header {
  const corrupt = (why: string): never => {
    throw corruptError(op, file, why);
  };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return corrupt(`unreadable header: ${(error as Error).message}`);
  }
  if (!isObject(value)) return corrupt(`the header is ${describe(value)}, not a JSON object`);
  const layout = field(value, 'layout');
  if (layout !== null && layout !== 'NHWC' && layout !== 'NCHW') corrupt(`header.layout must be "NHWC", "NCHW" or null, got ${describe(layout)}`);
  const list = field(value, 'tensors');
  if (!Array.isArray(list)) return corrupt(`header.tensors must be an array, got ${describe(list)}`);
  const tensors = list.map((entry: unknown, index) => parseEntry(entry, `header.tensors[${index}]`, dataBytes, corrupt));
  const byOffset = tensors.slice().sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const [before, after] = [byOffset[i - 1], byOffset[i]];
    if (after.offset < before.offset + before.byteLength) corrupt(`the data of ${describe(before.name)} and ${describe(after.name)} overlap`);
  }
  return { layout: layout as Layout | null, tensors };
}

function parseEntry(entry: unknown, where: string, dataBytes: number, corrupt: (why: string) => never): TensorEntry {
  if (!isObject(entry)) return corrupt(`${where} is ${describe(entry)}, not an object`);
  const name = field(entry, 'name');
  const dtype = field(entry, 'dtype');
  const shape = field(entry, 'shape');
  const offset = field(entry, 'offset');
  const byteLength = field(entry, 'byteLength');
  if (typeof name !== 'string') corrupt(`${where}.name must be a string, got ${describe(name)}`);
  if (dtype !== 'float32' && dtype !== 'float64') return corrupt(`${where}.dtype must be "float32" or "float64", got ${describe(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isCount)) return corrupt(`${where}.shape must be an array of non-negative integers, got ${describe(shape)}`);
  if (!isCount(offset) || offset % ALIGNMENT !== 0) corrupt(`${where}.offset must be a non-negative multiple of ${ALIGNMENT}, got ${describe(offset)}`);
  if (!isCount(byteLength)) corrupt(`${where}.byteLength must be a non-negative integer, got ${describe(byteLength)}`);
  // Past 2^53 the product is inexact, but then it exceeds dataBytes anyway.
  const needed = shape.reduce((product: number, size: number) => product * size, BYTES_PER_ELEMENT[dtype]);
  if (byteLength !== needed) corrupt(`${where}.byteLength is ${describe(byteLength)}, but shape ${describe(shape)} of ${dtype} takes ${needed}`);
  if ((offset as number) + (byteLength as number) > dataBytes) {
    corrupt(`${where} (${name}) ends at data byte ${(offset as number) + (byteLength as number)}, past the ${dataBytes} bytes of data in the file`);
  }
  return { name: name as string, dtype, shape: shape as number[], offset: offset as number, byteLength: byteLength as number };
}

/** The header against the model: layout, names, dtypes and shapes (a well-formed file of another model). */
function matchModel(op: string, file: string, header: Header, named: [string, Parameter][], layout: Layout | null): void {
  if (header.layout !== layout) {
    throw new ConvkitError('ERR_ARG', `${op}: ${file} holds parameters of a ${describe(header.layout)} model, but this model's layout is ${describe(layout)}`);
  }
  const expectedNames = named.map(([name]) => name);
  const fileNames = header.tensors.map((entry) => entry.name);
  if (expectedNames.length !== fileNames.length || expectedNames.some((name, index) => name !== fileNames[index])) {
    throw new ConvkitError('ERR_SHAPE', `${op}: ${file} holds parameters ${describe(fileNames)}, but the model has ${describe(expectedNames)}`);
  }
  named.forEach(([name, parameter], index) => {
    const entry = header.tensors[index];
    if (entry.dtype !== dtypeOf(parameter.data)) {
      throw new ConvkitError('ERR_DTYPE', `${op}: ${name} is ${describe(entry.dtype)} in ${file}, but ${parameter.dtype} in the model`);
    }
    const sameShape = entry.shape.length === parameter.shape.length && entry.shape.every((size, axis) => size === parameter.shape[axis]);
    if (!sameShape || entry.byteLength !== parameter.data.byteLength) {
      throw new ConvkitError('ERR_SHAPE', `${op}: ${name} has shape ${describe(entry.shape)} in ${file}, but ${describe(parameter.shape)} in the model`);
    }
  });
}
