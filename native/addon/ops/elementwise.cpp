// Element-wise ops (sync only): ReLU forward and backward, one Adam update.
#include "ops.hpp"

namespace convkit {

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
  const AdamStep step = read_params<AdamParams>(info[4]);
  FloatArgs f{pins};
  const View p = f.get(info[0], "p"), g = f.get(info[1], "g"), m = f.get(info[2], "m"), v = f.get(info[3], "v");
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

}  // namespace convkit
