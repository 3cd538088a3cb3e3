// Max and average pooling, forward and backward. The max-pool argmax (Int32Array) is written by
// the forward and read by the backward.
#include "ops.hpp"

namespace convkit {
namespace {

PoolShape pool_shape(const Napi::Value& params) {
  const PoolShape s = read_params<PoolParams>(params);
  validate(s);
  return s;
}

}  // namespace

std::unique_ptr<Job> parse_pool2d_forward(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 4, "pool2dForward");
  const PoolShape s = pool_shape(info[3]);
  FloatArgs f{pins};
  const View x = f.get(info[0], "x"), y = f.get(info[1], "y");
  const View argmax = int32_arg(info[2], "argmax", true, pins);
  require_length(x, s.x_size(), "x");
  require_length(y, s.y_size(), "y");
  if (argmax.present) {
    if (s.mode != PoolMode::Max) throw Error(ErrorCode::ERR_ARG, "argmax must be null for average pooling");
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
    if (!argmax.present)
      throw Error(ErrorCode::ERR_ARG, "argmax (from the forward pass) is required for max pooling backward");
    require_length(argmax, s.y_size(), "argmax");
  }
  require_disjoint(dx, "dx", {{&dy, "dy"}, {&argmax, "argmax"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    const PoolPlan plan = ops.pool2d_plan(s, PoolPass::kBackward, r.num_threads());
    ops.pool2d_backward(plan, as<T>(dy), s.mode == PoolMode::Max ? as<int32_t>(argmax) : nullptr, as<T>(dx), r);
  });
}

}  // namespace convkit
