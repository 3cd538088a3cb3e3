// Convolution: forward (optionally with weights packed ahead), weight packing, and the two
// backward passes. Every size is re-checked against the shape; JS is not trusted.
#include <utility>

#include "../../runtime/thread_pool.hpp"
#include "ops.hpp"

namespace convkit {
namespace {

ConvShape conv_shape(const Napi::Value& params) {
  const ConvShape s = read_params<ConvParams>(params);
  validate(s);
  return s;
}

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

}  // namespace

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
    ops.conv2d_forward(ops.conv2d_plan(s, ConvPass::kForward, r.num_threads()), as<T>(x), as<T>(w), prepacked,
                       b.present ? as<T>(b) : nullptr, as<T>(y), r);
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

// conv2dPackedWeightsLength(w, params): how many elements conv2dPackWeights needs (0: none).
Napi::Value conv2d_packed_weights_length(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    require_args(info, 2, "conv2dPackedWeightsLength");
    const ConvShape s = conv_shape(info[1]);
    FloatArgs f;
    const View w = f.get(info[0], "w");
    require_length(w, s.w_size(), "w");
    return Napi::Number::New(info.Env(), double(packed_weights_length(s, f.dtype)));
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
    ops.conv2d_backward_input(ops.conv2d_plan(s, ConvPass::kBackwardInput, r.num_threads()), as<T>(dy), as<T>(w),
                              as<T>(dx), r);
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
    ops.conv2d_backward_filter(ops.conv2d_plan(s, ConvPass::kBackwardFilter, r.num_threads()), as<T>(dy), as<T>(x),
                               as<T>(dw), db.present ? as<T>(db) : nullptr, r);
  });
}

// conv2dPlan(w, params): the plan of each pass for this shape, w's dtype, the active ISA and the
// pool's current thread count, as { forward, backwardInput, backwardFilter }, each
// { algorithm, threads, workspaceBytes }. What the ops would run, for tests, the benchmark and users' debugging.
Napi::Value conv2d_plan(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    require_args(info, 2, "conv2dPlan");
    const ConvShape s = conv_shape(info[1]);
    FloatArgs f;
    const View w = f.get(info[0], "w");
    require_length(w, s.w_size(), "w");
    const KernelTable& k = active_kernels();
    const int threads = global_pool().num_threads();
    Napi::Object plans = Napi::Object::New(info.Env());
    const std::pair<const char*, ConvPass> passes[] = {{"forward", ConvPass::kForward},
                                                       {"backwardInput", ConvPass::kBackwardInput},
                                                       {"backwardFilter", ConvPass::kBackwardFilter}};
    for (const auto& [name, pass] : passes) {
      const ConvPlan plan =
          f.dtype == DType::F32 ? k.f32.conv2d_plan(s, pass, threads) : k.f64.conv2d_plan(s, pass, threads);
      Napi::Object entry = Napi::Object::New(info.Env());
      entry.Set("algorithm", conv_algorithm_name(plan.algorithm));
      entry.Set("threads", plan.threads);
      entry.Set("workspaceBytes", Napi::Number::New(info.Env(), double(plan.workspace_bytes)));
      plans.Set(name, entry);
    }
    return plans;
  });
}

}  // namespace convkit
