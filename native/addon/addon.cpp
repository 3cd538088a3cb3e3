// N-API glue: unwraps typed arrays without copying, re-checks every size against the shape it
// was given, and hands the checked call to jobs.hpp, which runs it (on the calling thread for the
// sync API, on a libuv thread for the async one) and maps convkit::Error to a JS Error with a
// `code`.
#include "jobs.hpp"

#if !defined(_WIN32)
#include <dlfcn.h>
#endif

#include <string>
#include <vector>

#include "../kernels/kernels.hpp"
#include "../runtime/dispatch.hpp"
#include "../runtime/large_pages.hpp"
#include "../runtime/thread_pool.hpp"

namespace convkit {
namespace {

const char* dtype_name(DType d) { return d == DType::F32 ? "float32" : "float64"; }

// A typed array argument: where its elements are and how many.
struct View {
  void* data = nullptr;
  int64_t length = 0;
  size_t bytes_per_element = 0;
  bool present = false;
};

std::string describe(const Napi::Value& v) {
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      case napi_int32_array: return "Int32Array";
      default: return "another typed array";
    }
  }
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsArray()) return "an Array";
  switch (v.Type()) {
    case napi_number: return "a number";
    case napi_string: return "a string";
    case napi_boolean: return "a boolean";
    case napi_bigint: return "a bigint";
    case napi_symbol: return "a symbol";
    case napi_function: return "a function";
    default: return "an object";
  }
}

// The elements of typed array `v` (of a type the caller checked). With `pins` (an async call),
// its buffer is pinned for the job's lifetime; see pinned_buffers.hpp.
View unwrap(const Napi::Value& v, const char* name, PinnedBuffers* pins) {
  napi_typedarray_type type;
  size_t length = 0, byte_offset = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  if (napi_get_typedarray_info(v.Env(), v, &type, &length, &data, &buffer, &byte_offset) != napi_ok)
    throw Error("ERR_INTERNAL", std::string(name) + ": could not read the typed array");
  View view;
  view.length = int64_t(length);
  view.bytes_per_element = type == napi_float64_array ? 8 : 4;
  view.present = true;
  view.data = data;
  if (!view.data && view.length > 0)
    throw Error("ERR_ARG", std::string(name) + " has no backing store (its ArrayBuffer was detached?)");
  if (pins) pins->pin(buffer, name);
  return view;
}

// A float tensor argument: all of one call share the dtype of the first.
struct FloatArgs {
  PinnedBuffers* pins = nullptr;
  bool dtype_known = false;
  DType dtype = DType::F32;

  View get(const Napi::Value& v, const char* name, bool nullable = false) {
    if (nullable && (v.IsNull() || v.IsUndefined())) return View{};
    const bool is_f32 = v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
    const bool is_f64 = v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array;
    if (!is_f32 && !is_f64)
      throw Error("ERR_DTYPE", std::string(name) + " must be a Float32Array or Float64Array" +
                                   (nullable ? " or null" : "") + ", got " + describe(v));
    const DType d = is_f32 ? DType::F32 : DType::F64;
    if (dtype_known && d != dtype)
      throw Error("ERR_DTYPE", std::string(name) + " must be " + dtype_name(dtype) + " like the other tensors, got " +
                                   dtype_name(d));
    dtype_known = true;
    dtype = d;
    return unwrap(v, name, pins);
  }
};

View int32_arg(const Napi::Value& v, const char* name, bool nullable, PinnedBuffers* pins) {
  if (nullable && (v.IsNull() || v.IsUndefined())) return View{};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Error("ERR_DTYPE", std::string(name) + " must be an Int32Array" + (nullable ? " or null" : "") + ", got " +
                                 describe(v));
  return unwrap(v, name, pins);
}

void require_length(const View& v, int64_t expected, const char* name) {
  if (v.length != expected)
    throw Error("ERR_SHAPE", std::string(name) + " must have " + std::to_string(expected) +
                                 " elements for the given shape, got " + std::to_string(v.length));
}

// Outputs must not share memory with any other argument (the kernels read inputs while
// writing outputs).
void require_disjoint(const View& out, const char* out_name, std::initializer_list<std::pair<const View*, const char*>> others) {
  const auto* begin = static_cast<const uint8_t*>(out.data);
  const auto* end = begin + out.length * int64_t(out.bytes_per_element);
  for (const auto& [other, name] : others) {
    if (!other->present || other->length == 0 || out.length == 0) continue;
    const auto* ob = static_cast<const uint8_t*>(other->data);
    const auto* oe = ob + other->length * int64_t(other->bytes_per_element);
    if (begin < oe && ob < end)
      throw Error("ERR_ARG", std::string(out_name) + " must not share memory with " + name);
  }
}

std::vector<double> number_params(const Napi::Value& v, size_t count, const char* what) {
  if (!v.IsArray()) throw Error("ERR_ARG", std::string(what) + " must be an Array of " + std::to_string(count) + " numbers, got " + describe(v));
  auto array = v.As<Napi::Array>();
  if (array.Length() != count)
    throw Error("ERR_ARG", std::string(what) + " must have " + std::to_string(count) + " entries, got " +
                               std::to_string(array.Length()));
  std::vector<double> out(count);
  for (uint32_t i = 0; i < count; ++i) {
    Napi::Value e = array.Get(i);
    if (!e.IsNumber()) throw Error("ERR_ARG", std::string(what) + "[" + std::to_string(i) + "] must be a number, got " + describe(e));
    out[i] = e.As<Napi::Number>().DoubleValue();
  }
  return out;
}

std::vector<int64_t> int_params(const Napi::Value& v, size_t count, const char* what) {
  const std::vector<double> numbers = number_params(v, count, what);
  std::vector<int64_t> out(count);
  for (size_t i = 0; i < count; ++i) {
    const double d = numbers[i];
    if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) || d != double(int64_t(d)))
      throw Error("ERR_ARG", std::string(what) + "[" + std::to_string(i) + "] must be an integer, got " + std::to_string(d));
    out[i] = int64_t(d);
  }
  return out;
}

Layout layout_of(int64_t code) {
  if (code != 0 && code != 1) throw Error("ERR_ARG", "layout code must be 0 (NHWC) or 1 (NCHW), got " + std::to_string(code));
  return Layout(code);
}

ConvShape conv_shape(const Napi::Value& v) {
  const auto p = int_params(v, 19, "conv params");
  ConvShape s;
  s.layout = layout_of(p[0]);
  s.n = p[1], s.h = p[2], s.w = p[3], s.c = p[4], s.kh = p[5], s.kw = p[6], s.cout = p[7], s.groups = p[8];
  s.oh = p[9], s.ow = p[10], s.stride_h = p[11], s.stride_w = p[12];
  s.pad_top = p[13], s.pad_left = p[14], s.pad_bottom = p[15], s.pad_right = p[16];
  s.dilation_h = p[17], s.dilation_w = p[18];
  validate(s);
  return s;
}

PoolShape pool_shape(const Napi::Value& v) {
  const auto p = int_params(v, 16, "pool params");
  PoolShape s;
  s.layout = layout_of(p[0]);
  if (p[1] != 0 && p[1] != 1) throw Error("ERR_ARG", "pool mode code must be 0 (max) or 1 (avg), got " + std::to_string(p[1]));
  s.mode = PoolMode(p[1]);
  s.n = p[2], s.c = p[3], s.h = p[4], s.w = p[5], s.kh = p[6], s.kw = p[7], s.oh = p[8], s.ow = p[9];
  s.stride_h = p[10], s.stride_w = p[11], s.pad_h = p[12], s.pad_w = p[13];
  s.ceil_mode = p[14] != 0;
  s.count_include_pad = p[15] != 0;
  validate(s);
  return s;
}

PadShape pad_shape(const Napi::Value& v) {
  const auto p = int_params(v, 9, "pad params");
  PadShape s;
  s.layout = layout_of(p[0]);
  s.n = p[1], s.c = p[2], s.h = p[3], s.w = p[4];
  s.pad_top = p[5], s.pad_left = p[6], s.pad_bottom = p[7], s.pad_right = p[8];
  validate(s);
  return s;
}

GemmShape gemm_shape(const Napi::Value& v) {
  const auto p = int_params(v, 8, "gemm params");
  GemmShape s;
  s.m = p[0], s.n = p[1], s.k = p[2];
  s.a_row_stride = p[3], s.a_col_stride = p[4], s.b_row_stride = p[5], s.b_col_stride = p[6];
  if (p[7] != 0 && p[7] != 1) throw Error("ERR_ARG", "gemm accumulate flag must be 0 or 1, got " + std::to_string(p[7]));
  s.accumulate = p[7] == 1;
  validate(s);
  return s;
}

template <class T>
T* as(const View& v) {
  return static_cast<T*>(v.data);
}

void require_args(const Napi::CallbackInfo& info, size_t count, const char* fn) {
  if (info.Length() != count)
    throw Error("ERR_ARG", std::string(fn) + " expects " + std::to_string(count) + " arguments, got " +
                               std::to_string(info.Length()));
}

// ---- parsers: one per op, shared by the sync and async entry points

// Packed weights live in a JS typed array, whose data V8 aligns to 8 or 16 bytes only: the kernels
// want 64 (a misaligned B panel splits every vector load across two cache lines). The array gets
// 64 bytes of slack and the packed data starts at its first 64-byte boundary; backing stores of
// that size never move, so packing and every later forward find the same start.
constexpr int64_t kPackedAlignment = 64;

// Elements of the packed-weights array for this shape and dtype on the active ISA (0: none).
int64_t packed_weights_length(const ConvShape& s, DType dtype) {
  const KernelTable& k = active_kernels();
  const int64_t size = dtype == DType::F32 ? k.f32.conv2d_packed_weights_size(s) : k.f64.conv2d_packed_weights_size(s);
  return size > 0 ? size + kPackedAlignment / (dtype == DType::F32 ? 4 : 8) : 0;
}

template <class T>
T* packed_start(const View& packed) {
  const auto address = reinterpret_cast<uintptr_t>(packed.data);
  return reinterpret_cast<T*>((address + kPackedAlignment - 1) / kPackedAlignment * kPackedAlignment);
}

// Every parser reads its number parameters before any typed array: reading an Array element can
// run JS (an accessor), which could detach or shrink a buffer whose address was already taken.

// conv2dForward(x, w, b, y, params, packed): packed is null or what conv2dPackWeights wrote for
// these weights (same shape, groups and layout).
std::unique_ptr<Job> parse_conv2d_forward(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 6, "conv2dForward");
  const ConvShape s = conv_shape(info[4]);
  FloatArgs f{pins};
  const View x = f.get(info[0], "x"), w = f.get(info[1], "w"), b = f.get(info[2], "b", true), y = f.get(info[3], "y");
  const View packed = f.get(info[5], "packed", true);
  require_length(x, s.x_size(), "x");
  require_length(w, s.w_size(), "w");
  if (b.present) require_length(b, s.cout, "b");
  require_length(y, s.y_size(), "y");
  if (packed.present) require_length(packed, packed_weights_length(s, f.dtype), "packed");
  require_disjoint(y, "y", {{&x, "x"}, {&w, "w"}, {&b, "b"}, {&packed, "packed"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    const T* prepacked = packed.present && packed.length > 0 ? packed_start<T>(packed) : nullptr;
    ops.conv2d_forward(s, as<T>(x), as<T>(w), prepacked, b.present ? as<T>(b) : nullptr, as<T>(y), r);
  });
}

// conv2dPackWeights(w, packed, params): packs w for conv2dForward (sync: it is a copy).
std::unique_ptr<Job> parse_conv2d_pack_weights(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 3, "conv2dPackWeights");
  const ConvShape s = conv_shape(info[2]);
  FloatArgs f{pins};
  const View w = f.get(info[0], "w"), packed = f.get(info[1], "packed");
  require_length(w, s.w_size(), "w");
  require_length(packed, packed_weights_length(s, f.dtype), "packed");
  require_disjoint(packed, "packed", {{&w, "w"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    ops.conv2d_pack_weights(s, as<T>(w), packed_start<T>(packed), r);
  });
}

std::unique_ptr<Job> parse_conv2d_backward_input(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 4, "conv2dBackwardInput");
  const ConvShape s = conv_shape(info[3]);
  FloatArgs f{pins};
  const View dy = f.get(info[0], "dy"), w = f.get(info[1], "w"), dx = f.get(info[2], "dx");
  require_length(dy, s.y_size(), "dy");
  require_length(w, s.w_size(), "w");
  require_length(dx, s.x_size(), "dx");
  require_disjoint(dx, "dx", {{&dy, "dy"}, {&w, "w"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    ops.conv2d_backward_input(s, as<T>(dy), as<T>(w), as<T>(dx), r);
  });
}

std::unique_ptr<Job> parse_conv2d_backward_filter(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 5, "conv2dBackwardFilter");
  const ConvShape s = conv_shape(info[4]);
  FloatArgs f{pins};
  const View dy = f.get(info[0], "dy"), x = f.get(info[1], "x"), dw = f.get(info[2], "dw"),
             db = f.get(info[3], "db", true);
  require_length(dy, s.y_size(), "dy");
  require_length(x, s.x_size(), "x");
  require_length(dw, s.w_size(), "dw");
  if (db.present) require_length(db, s.cout, "db");
  require_disjoint(dw, "dw", {{&dy, "dy"}, {&x, "x"}, {&db, "db"}});
  if (db.present) require_disjoint(db, "db", {{&dy, "dy"}, {&x, "x"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    ops.conv2d_backward_filter(s, as<T>(dy), as<T>(x), as<T>(dw), db.present ? as<T>(db) : nullptr, r);
  });
}

std::unique_ptr<Job> parse_pool2d_forward(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 4, "pool2dForward");
  const PoolShape s = pool_shape(info[3]);
  FloatArgs f{pins};
  const View x = f.get(info[0], "x"), y = f.get(info[1], "y");
  const View argmax = int32_arg(info[2], "argmax", true, pins);
  require_length(x, s.x_size(), "x");
  require_length(y, s.y_size(), "y");
  if (argmax.present) {
    if (s.mode != PoolMode::Max) throw Error("ERR_ARG", "argmax must be null for average pooling");
    require_length(argmax, s.y_size(), "argmax");
    require_disjoint(argmax, "argmax", {{&x, "x"}, {&y, "y"}});
  }
  require_disjoint(y, "y", {{&x, "x"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    const PoolPlan plan = ops.pool2d_plan(s, PoolPass::kForward, r.num_threads());
    ops.pool2d_forward(plan, as<T>(x), as<T>(y), argmax.present ? as<int32_t>(argmax) : nullptr, r);
  });
}

std::unique_ptr<Job> parse_pool2d_backward(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 4, "pool2dBackward");
  const PoolShape s = pool_shape(info[3]);
  FloatArgs f{pins};
  const View dy = f.get(info[0], "dy");
  const View argmax = int32_arg(info[1], "argmax", true, pins);
  const View dx = f.get(info[2], "dx");
  require_length(dy, s.y_size(), "dy");
  require_length(dx, s.x_size(), "dx");
  if (s.mode == PoolMode::Max) {
    if (!argmax.present) throw Error("ERR_ARG", "argmax (from the forward pass) is required for max pooling backward");
    require_length(argmax, s.y_size(), "argmax");
  }
  require_disjoint(dx, "dx", {{&dy, "dy"}, {&argmax, "argmax"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    const PoolPlan plan = ops.pool2d_plan(s, PoolPass::kBackward, r.num_threads());
    ops.pool2d_backward(plan, as<T>(dy), s.mode == PoolMode::Max ? as<int32_t>(argmax) : nullptr, as<T>(dx), r);
  });
}

std::unique_ptr<Job> parse_zero_pad(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 3, "zeroPad");
  const PadShape s = pad_shape(info[2]);
  FloatArgs f{pins};
  const View x = f.get(info[0], "x"), y = f.get(info[1], "y");
  require_length(x, s.x_size(), "x");
  require_length(y, s.y_size(), "y");
  require_disjoint(y, "y", {{&x, "x"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    ops.zero_pad(s, as<T>(x), as<T>(y), r);
  });
}

std::unique_ptr<Job> parse_gemm(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 5, "gemm");
  const GemmShape s = gemm_shape(info[4]);
  FloatArgs f{pins};
  const View a = f.get(info[0], "a"), b = f.get(info[1], "b"), bias = f.get(info[2], "bias", true), c = f.get(info[3], "c");
  if (a.length < s.a_extent())
    throw Error("ERR_SHAPE", "a must hold at least " + std::to_string(s.a_extent()) + " elements for the given strides, got " + std::to_string(a.length));
  if (b.length < s.b_extent())
    throw Error("ERR_SHAPE", "b must hold at least " + std::to_string(s.b_extent()) + " elements for the given strides, got " + std::to_string(b.length));
  if (bias.present) {
    if (s.accumulate) throw Error("ERR_ARG", "gemm takes a bias or accumulates, not both");
    require_length(bias, s.n, "bias");
  }
  require_length(c, s.m * s.n, "c");
  require_disjoint(c, "c", {{&a, "a"}, {&b, "b"}, {&bias, "bias"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    ops.gemm(s, as<T>(a), as<T>(b), bias.present ? as<T>(bias) : nullptr, as<T>(c), r);
  });
}

// An element-wise output may be one of its inputs exactly (in place), or disjoint from it.
void require_same_or_disjoint(const View& out, const char* out_name, const View& in, const char* in_name) {
  if (out.data != in.data) require_disjoint(out, out_name, {{&in, in_name}});
}

std::unique_ptr<Job> parse_relu(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 2, "relu");
  FloatArgs f{pins};
  const View x = f.get(info[0], "x"), y = f.get(info[1], "y");
  require_length(y, x.length, "y");
  require_same_or_disjoint(y, "y", x, "x");
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    ops.relu(as<T>(x), as<T>(y), x.length, r);
  });
}

std::unique_ptr<Job> parse_relu_backward(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 3, "reluBackward");
  FloatArgs f{pins};
  const View y = f.get(info[0], "y"), dy = f.get(info[1], "dy"), dx = f.get(info[2], "dx");
  require_length(dy, y.length, "dy");
  require_length(dx, y.length, "dx");
  require_disjoint(dx, "dx", {{&y, "y"}});
  require_same_or_disjoint(dx, "dx", dy, "dy");
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    ops.relu_backward(as<T>(y), as<T>(dy), as<T>(dx), y.length, r);
  });
}

std::unique_ptr<Job> parse_adam(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 5, "adam");
  const auto h = number_params(info[4], 6, "adam params");
  FloatArgs f{pins};
  const View p = f.get(info[0], "p"), g = f.get(info[1], "g"), m = f.get(info[2], "m"), v = f.get(info[3], "v");
  const AdamStep step{h[0], h[1], h[2], h[3], h[4], h[5]};
  require_length(g, p.length, "g");
  require_length(m, p.length, "m");
  require_length(v, p.length, "v");
  require_disjoint(p, "p", {{&g, "g"}, {&m, "m"}, {&v, "v"}});
  require_disjoint(m, "m", {{&g, "g"}, {&v, "v"}});
  require_disjoint(v, "v", {{&g, "g"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    ops.adam(step, as<T>(p), as<T>(g), as<T>(m), as<T>(v), p.length, r);
  });
}

// ---- settings and information

// conv2dPackedWeightsLength(w, params): how many elements conv2dPackWeights needs (0: none).
Napi::Value conv2d_packed_weights_length(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    require_args(info, 2, "conv2dPackedWeightsLength");
    FloatArgs f;
    const View w = f.get(info[0], "w");
    const ConvShape s = conv_shape(info[1]);
    require_length(w, s.w_size(), "w");
    return Napi::Number::New(info.Env(), double(packed_weights_length(s, f.dtype)));
  });
}

Napi::Value set_num_threads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() != 1 || !info[0].IsNumber())
      throw Error("ERR_ARG", "setNumThreads expects one integer, got " + (info.Length() ? describe(info[0]) : std::string("nothing")));
    const double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 1 && d <= ThreadPool::kMaxThreads) || d != double(int(d)))
      throw Error("ERR_ARG", "threads must be an integer in [1, " + std::to_string(ThreadPool::kMaxThreads) + "], got " +
                                 info[0].ToString().Utf8Value());
    global_pool().set_num_threads(int(d));
    return info.Env().Undefined();
  });
}

// setMemoryLimit(bytes): the largest single buffer (output or workspace) convkit may allocate.
Napi::Value set_memory_limit(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() != 1 || !info[0].IsNumber())
      throw Error("ERR_ARG", "setMemoryLimit expects one integer number of bytes, got " +
                                 (info.Length() ? describe(info[0]) : std::string("nothing")));
    const double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 1 && d <= 9007199254740991.0) || d != double(int64_t(d)))
      throw Error("ERR_ARG", "the memory limit must be an integer number of bytes in [1, 2^53-1], got " +
                                 info[0].ToString().Utf8Value());
    set_memory_limit_bytes(int64_t(d));
    return info.Env().Undefined();
  });
}

Napi::Value get_memory_limit(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(memory_limit_bytes()));
}

// Advises huge pages for a new ArrayBuffer, before anything writes it (see large_pages.hpp); a
// buffer holding no whole 2 MiB page is left alone.
Napi::Value advise_large_pages_js(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() != 1 || !info[0].IsArrayBuffer())
      throw Error("ERR_ARG", "adviseLargePages expects an ArrayBuffer, got " +
                                 (info.Length() ? describe(info[0]) : std::string("nothing")));
    Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
    advise_large_pages(buffer.Data(), buffer.ByteLength());
    return info.Env().Undefined();
  });
}

Napi::Value get_num_threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), global_pool().num_threads());
}

Napi::Value isa(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), active_kernels().isa); });
}

Napi::Value supported(const Napi::CallbackInfo& info) {
  const auto names = supported_isas();
  Napi::Array out = Napi::Array::New(info.Env(), names.size());
  for (uint32_t i = 0; i < names.size(); ++i) out.Set(i, names[i]);
  return out;
}

Napi::Value build_info(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const KernelTable& k = active_kernels();
    Napi::Object out = Napi::Object::New(env);
    out.Set("isa", k.isa);
    out.Set("supportedIsas", supported(info));
    out.Set("threads", global_pool().num_threads());
    out.Set("cpus", available_cpus());
    auto tile = [&](int mr, int nr) {
      Napi::Object t = Napi::Object::New(env);
      t.Set("mr", mr);
      t.Set("nr", nr);
      return t;
    };
    out.Set("gemmTileFloat32", tile(k.gemm_mr_f32, k.gemm_nr_f32));
    out.Set("gemmTileFloat64", tile(k.gemm_mr_f64, k.gemm_nr_f64));
    out.Set("compiler", __VERSION__);
    out.Set("napiVersion", NAPI_VERSION);
    return out;
  });
}

// Node unloads an addon when the last environment that loaded it goes away (all the workers that
// used it were terminated, the main thread never did). The process-wide thread pool's threads
// run this library's code and outlive any environment, so the library must stay mapped.
void keep_library_loaded() {
#if !defined(_WIN32)
  Dl_info self;
  if (dladdr(reinterpret_cast<void*>(&keep_library_loaded), &self) && self.dli_fname)
    dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);  // a no-op after the first env
#endif
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  keep_library_loaded();
  // Resolve the ISA now so that a bad CONVKIT_ISA fails at require() with a clear error.
  guarded(env, [&]() -> Napi::Value {
    active_kernels();
    return env.Undefined();
  });
  init_env_state(env);
  auto add = [&](const char* name, Napi::Function::Callback fn) { exports.Set(name, Napi::Function::New(env, fn, name)); };
  add("conv2dForward", sync_entry<parse_conv2d_forward>);
  add("conv2dPackedWeightsLength", conv2d_packed_weights_length);
  add("conv2dPackWeights", sync_entry<parse_conv2d_pack_weights>);
  add("conv2dBackwardInput", sync_entry<parse_conv2d_backward_input>);
  add("conv2dBackwardFilter", sync_entry<parse_conv2d_backward_filter>);
  add("pool2dForward", sync_entry<parse_pool2d_forward>);
  add("pool2dBackward", sync_entry<parse_pool2d_backward>);
  add("zeroPad", sync_entry<parse_zero_pad>);
  add("gemm", sync_entry<parse_gemm>);
  add("relu", sync_entry<parse_relu>);
  add("reluBackward", sync_entry<parse_relu_backward>);
  add("adam", sync_entry<parse_adam>);
  add("conv2dForwardAsync", async_entry<parse_conv2d_forward>);
  add("conv2dBackwardInputAsync", async_entry<parse_conv2d_backward_input>);
  add("conv2dBackwardFilterAsync", async_entry<parse_conv2d_backward_filter>);
  add("pool2dForwardAsync", async_entry<parse_pool2d_forward>);
  add("pool2dBackwardAsync", async_entry<parse_pool2d_backward>);
  add("zeroPadAsync", async_entry<parse_zero_pad>);
  add("gemmAsync", async_entry<parse_gemm>);
  add("adviseLargePages", advise_large_pages_js);
  add("setNumThreads", set_num_threads);
  add("setMemoryLimit", set_memory_limit);
  add("getMemoryLimit", get_memory_limit);
  add("getNumThreads", get_num_threads);
  add("isa", isa);
  add("supportedIsas", supported);
  add("buildInfo", build_info);
  return exports;
}

}  // namespace
}  // namespace convkit

Napi::Object InitConvkitAddon(Napi::Env env, Napi::Object exports) { return convkit::init(env, exports); }

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitConvkitAddon)
