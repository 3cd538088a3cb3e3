// Max and average pooling, forward and backward. The max-pool argmax (Int32Array) is written by
// the forward and read by the backward.
#include <utility>

#include "../../runtime/thread_pool.hpp"
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

// pool2dPlan(x, params): the plan of each pass for this shape, x's dtype and the pool's current
// thread count, as { forward, backward }, each { algorithm, threads, workspaceBytes }. What the
// ops would run, for tests, the benchmark and users' debugging.
Napi::Value pool2d_plan(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    require_args(info, 2, "pool2dPlan");
    const PoolShape s = pool_shape(info[1]);
    FloatArgs f;
    const View x = f.get(info[0], "x");
    require_length(x, s.x_size(), "x");
    const KernelTable& k = active_kernels();
    const int threads = global_pool().num_threads();
    Napi::Object plans = Napi::Object::New(info.Env());
    const std::pair<const char*, PoolPass> passes[] = {{"forward", PoolPass::kForward},
                                                       {"backward", PoolPass::kBackward}};
    for (const auto& [name, pass] : passes) {
      const PoolPlan plan =
          f.dtype == DType::F32 ? k.f32.pool2d_plan(s, pass, threads) : k.f64.pool2d_plan(s, pass, threads);
      Napi::Object entry = Napi::Object::New(info.Env());
      entry.Set("algorithm", pool_algorithm_name(plan.algorithm));
      entry.Set("threads", plan.threads);
      entry.Set("workspaceBytes", double(plan.workspace_bytes));
      plans.Set(name, entry);
    }
    return plans;
  });
}

}  // namespace convkit
