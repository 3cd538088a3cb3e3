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
import { Module } from './nn/module';
import { dtypeOf } from './shapes';
import type { DType, FloatArray, Layout } from './tensor';

const MAGIC = 'CVKPARAM';
const VERSION = 1;
const PREAMBLE_BYTES = 16;
const ALIGNMENT = 8;

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

function encode(model: Module): Buffer {
  const named = model.namedParameters();
  let offset = 0;
  const tensors = named.map(([name, parameter]): TensorEntry => {
    const entry = { name, dtype: parameter.dtype, shape: parameter.shape.slice(), offset, byteLength: parameter.data.byteLength };
    offset = alignUp(offset + entry.byteLength);
    return entry;
  });
  const json = JSON.stringify({ layout: model.layout, tensors } satisfies Header);
  const headerBytes = alignUp(PREAMBLE_BYTES + Buffer.byteLength(json)) - PREAMBLE_BYTES;
  const file = Buffer.alloc(PREAMBLE_BYTES + headerBytes + offset);
  file.write(MAGIC, 0, 'ascii');
  file.writeUInt32LE(VERSION, 8);
  file.writeUInt32LE(headerBytes, 12);
  file.write(json.padEnd(headerBytes, ' '), PREAMBLE_BYTES, 'utf8');
  const dataStart = PREAMBLE_BYTES + headerBytes;
  named.forEach(([, parameter], index) => file.set(littleEndianBytes(parameter.data), dataStart + tensors[index].offset));
  return file;
}

/** Writes every parameter of the model to `file` (format above). */
export function saveParameters(model: Module, file: string): void {
  if (!(model instanceof Module)) fail('ERR_ARG', 'nn.saveParameters', 'model', 'an nn.Module', model);
  fs.writeFileSync(file, encode(model));
}

/**
 * Reads `file` into the model's parameters, in place (optimisers holding them keep working). The
 * file must hold exactly the model's parameters: same names, dtypes and shapes, same layout.
 */
export function loadParameters(model: Module, file: string): void {
  const op = 'nn.loadParameters';
  if (!(model instanceof Module)) fail('ERR_ARG', op, 'model', 'an nn.Module', model);
  const bytes = fs.readFileSync(file);
  const corrupt = (why: string): never => {
    throw new ConvkitError('ERR_ARG', `${op}: ${file} is not a convkit parameter file (${why})`);
  };
  if (bytes.length < PREAMBLE_BYTES || bytes.toString('ascii', 0, 8) !== MAGIC) corrupt(`no ${MAGIC} magic`);
  const version = bytes.readUInt32LE(8);
  if (version !== VERSION) corrupt(`format version ${version}, this convkit reads ${VERSION}`);
  const dataStart = PREAMBLE_BYTES + bytes.readUInt32LE(12);
  let header: Header;
  try {
    header = JSON.parse(bytes.toString('utf8', PREAMBLE_BYTES, dataStart)) as Header;
  } catch (error) {
    return corrupt(`unreadable header: ${(error as Error).message}`);
  }

  if (header.layout !== model.layout) {
    throw new ConvkitError('ERR_ARG', `${op}: ${file} holds parameters of a ${describe(header.layout)} model, but this model's layout is ${describe(model.layout)}`);
  }
  const named = model.namedParameters();
  const expectedNames = named.map(([name]) => name);
  const fileNames = header.tensors.map((entry) => entry.name);
  if (expectedNames.join('\n') !== fileNames.join('\n')) {
    throw new ConvkitError('ERR_SHAPE', `${op}: ${file} holds parameters ${describe(fileNames)}, but the model has ${describe(expectedNames)}`);
  }
  // Check everything before changing anything, so that a mismatch leaves the model as it was.
  named.forEach(([name, parameter], index) => {
    const entry = header.tensors[index];
    if (entry.dtype !== dtypeOf(parameter.data)) {
      throw new ConvkitError('ERR_DTYPE', `${op}: ${name} is ${describe(entry.dtype)} in ${file}, but ${parameter.dtype} in the model`);
    }
    if (entry.shape.join() !== parameter.shape.join()) {
      throw new ConvkitError('ERR_SHAPE', `${op}: ${name} has shape ${describe(entry.shape)} in ${file}, but ${describe(parameter.shape)} in the model`);
    }
    if (entry.byteLength !== parameter.data.byteLength || dataStart + entry.offset + entry.byteLength > bytes.length) {
      corrupt(`${name}'s data is truncated`);
    }
  });
  named.forEach(([, parameter], index) => {
    const entry = header.tensors[index];
    const target = new Uint8Array(parameter.data.buffer, parameter.data.byteOffset, parameter.data.byteLength);
    target.set(bytes.subarray(dataStart + entry.offset, dataStart + entry.offset + entry.byteLength));
    if (os.endianness() !== 'LE') reverseEachElement(target, parameter.data.BYTES_PER_ELEMENT);
  });
}
