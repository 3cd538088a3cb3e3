'use strict';
// Builds an ONNX model holding one Conv node, encoded by hand: only the
// protobuf fields of onnx.proto that such a model needs (no onnx package here).

const { outputSize } = require('./suite');

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;

// onnx.proto enum values used below.
const TENSOR_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;
const IR_VERSION = 8;
const OPSET_VERSION = 17;

function varint(value) {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as a varint`);
  const bytes = [];
  while (value >= 0x80) {
    bytes.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  bytes.push(value);
  return Uint8Array.from(bytes);
}

// A message under construction: fields are appended in the order given.
class Message {
  constructor() {
    this.parts = [];
  }

  tag(field, wireType) {
    this.parts.push(varint(field * 8 + wireType));
  }

  int(field, value) {
    this.tag(field, WIRE_VARINT);
    this.parts.push(varint(value));
    return this;
  }

  // Repeated integers, unpacked: accepted by every protobuf parser for proto2 fields.
  ints(field, values) {
    for (const value of values) this.int(field, value);
    return this;
  }

  bytes(field, data) {
    this.tag(field, WIRE_BYTES);
    this.parts.push(varint(data.length), data);
    return this;
  }

  string(field, text) {
    return this.bytes(field, Buffer.from(text, 'utf8'));
  }

  message(field, child) {
    return this.bytes(field, child.encode());
  }

  encode() {
    return Buffer.concat(this.parts);
  }
}

function float32Tensor(name, dims, values) {
  // TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9 (little-endian, as on x86).
  return new Message()
    .ints(1, dims)
    .int(2, TENSOR_FLOAT)
    .string(8, name)
    .bytes(9, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
}

function float32ValueInfo(name, dims) {
  // ValueInfoProto{name = 1, type = 2} > TypeProto{tensor_type = 1} >
  // Tensor{elem_type = 1, shape = 2} > TensorShapeProto{dim = 1} > Dimension{dim_value = 1}.
  const shape = new Message();
  for (const dim of dims) shape.message(1, new Message().int(1, dim));
  const tensorType = new Message().int(1, TENSOR_FLOAT).message(2, shape);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

function intsAttribute(name, values) {
  // AttributeProto: name = 1, ints = 8, type = 20.
  return new Message().string(1, name).ints(8, values).int(20, ATTRIBUTE_INTS);
}

function intAttribute(name, value) {
  // AttributeProto: i = 3.
  return new Message().string(1, name).int(3, value).int(20, ATTRIBUTE_INT);
}

function randomValues(count) {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = Math.random() - 0.5;
  return values;
}

// A model computing Y = Conv(X, W, B) for a suite conv layer, in NCHW with OIHW
// weights. W and B are initializers so onnxruntime may pre-pack them once (convkit
// repacks its weights on every call, so this favours the peer).
function convModel(layer) {
  const [kh, kw] = layer.kernel;
  const [oh, ow] = outputSize(layer);
  const weightDims = [layer.cout, layer.c / layer.groups, kh, kw];
  const node = new Message()
    .string(1, 'X')
    .string(1, 'W')
    .string(1, 'B') // inputs
    .string(2, 'Y') // output
    .string(3, 'conv')
    .string(4, 'Conv')
    .message(5, intsAttribute('kernel_shape', [kh, kw]))
    .message(5, intsAttribute('strides', layer.stride))
    .message(5, intsAttribute('pads', [layer.pad[0], layer.pad[1], layer.pad[0], layer.pad[1]]))
    .message(5, intsAttribute('dilations', [1, 1]))
    .message(5, intAttribute('group', layer.groups));
  // GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
  const graph = new Message()
    .message(1, node)
    .string(2, layer.name)
    .message(5, float32Tensor('W', weightDims, randomValues(weightDims.reduce((a, b) => a * b))))
    .message(5, float32Tensor('B', [layer.cout], randomValues(layer.cout)))
    .message(11, float32ValueInfo('X', [layer.n, layer.c, layer.h, layer.w]))
    .message(12, float32ValueInfo('Y', [layer.n, layer.cout, oh, ow]));
  // ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8
  // (OperatorSetIdProto: version = 2; the default domain is left empty).
  return new Message().int(1, IR_VERSION).string(2, 'convkit-bench').message(7, graph).message(8, new Message().int(2, OPSET_VERSION)).encode();
}

module.exports = { convModel };
