// The strided GEMM behind linear layers (forward and both gradients, lib/ops/linear.ts).
#include "ops.hpp"

namespace convkit {

std::unique_ptr<Job> parse_gemm(const Napi::CallbackInfo& info, PinnedBuffers* pins) {
  require_args(info, 5, "gemm");
  const GemmShape s = read_params<GemmParams>(info[4]);
  validate(s);
  FloatArgs f{pins};
  const View a = f.get(info[0], "a"), b = f.get(info[1], "b"), bias = f.get(info[2], "bias", true),
             c = f.get(info[3], "c");
  if (a.length < s.a_extent())
    throw Error(ErrorCode::ERR_SHAPE, "a must hold at least " + std::to_string(s.a_extent()) +
                                          " elements for the given strides, got " + std::to_string(a.length));
  if (b.length < s.b_extent())
    throw Error(ErrorCode::ERR_SHAPE, "b must hold at least " + std::to_string(s.b_extent()) +
                                          " elements for the given strides, got " + std::to_string(b.length));
  if (bias.present) {
    if (s.accumulate) throw Error(ErrorCode::ERR_ARG, "gemm takes a bias or accumulates, not both");
    require_length(bias, s.n, "bias");
  }
  require_length(c, s.m * s.n, "c");
  require_disjoint(c, "c", {{&a, "a"}, {&b, "b"}, {&bias, "bias"}});
  return make_job(f.dtype, [=](const auto& ops, auto zero, Runner& r) {
    using T = decltype(zero);
    ops.gemm(s, as<T>(a), as<T>(b), bias.present ? as<T>(bias) : nullptr, as<T>(c), r);
  });
}

}  // namespace convkit
