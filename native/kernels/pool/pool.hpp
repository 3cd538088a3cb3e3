// Max and average 2-D pooling, forward and backward, with PyTorch's CPU semantics:
// * max: padding never wins; the window is scanned in row-major order and an element replaces
//   the running maximum when it is greater or NaN (so the first maximum wins ties and a NaN
//   propagates); argmax is the flat index ih * w + iw inside the (n, c) plane.
// * avg: the divisor is the window's area clipped to the padded input (count_include_pad) or
//   its number of real elements.
// The algorithm and the thread split come from the plan (pool/plan.cpp); these entry points
// execute it.
#pragma once

#include <cstdint>
#include <string>

#include "common.hpp"
#include "isa/config.hpp"
#include "pool/backward.hpp"
#include "pool/forward_nchw.hpp"
#include "pool/forward_nhwc.hpp"
#include "pool/plan.hpp"

namespace convkit {
namespace CONVKIT_ISA {

namespace pool_detail {

[[noreturn]] inline void throw_wrong_plan(const char* entry, const PoolPlan& plan) {
  throw Error(ErrorCode::ERR_INTERNAL,
              std::string(entry) + " was given a plan for " + pool_algorithm_name(plan.algorithm));
}

}  // namespace pool_detail

template <class T>
PoolPlan pool2d_plan(const PoolShape& s, PoolPass pass, int threads) {
  return plan_pool2d(s, pass, threads, int64_t(sizeof(T)));
}

template <class T>
void pool2d_forward(const PoolPlan& plan, const T* x, T* y, int32_t* argmax, Runner& r) {
  using namespace pool_detail;
  switch (plan.algorithm) {
    // The kernels serve both modes (plan.shape.mode, which the algorithm names): one body per
    // layout compiles to faster loops than one per mode (docs/decisions.md, "Pool plan").
    case PoolAlgorithm::kMaxForwardNchw:
    case PoolAlgorithm::kAvgForwardNchw:
      return forward_nchw<T>(plan, x, y, argmax, r);
    case PoolAlgorithm::kMaxForwardNhwc:
    case PoolAlgorithm::kAvgForwardNhwc:
      return forward_nhwc<T>(plan, x, y, argmax, r);
    default:
      throw_wrong_plan("pool2d_forward", plan);
  }
}

template <class T>
void pool2d_backward(const PoolPlan& plan, const T* dy, const int32_t* argmax, T* dx, Runner& r) {
  using namespace pool_detail;
  const bool max =
      plan.algorithm == PoolAlgorithm::kMaxBackwardNchw || plan.algorithm == PoolAlgorithm::kMaxBackwardNhwc;
  if (max && argmax == nullptr)
    throw Error(ErrorCode::ERR_ARG, "max pool backward needs the argmax of the forward pass");
  switch (plan.algorithm) {
    case PoolAlgorithm::kMaxBackwardNchw:
    case PoolAlgorithm::kAvgBackwardNchw:
      return backward_nchw<T>(plan, dy, argmax, dx, r);
    case PoolAlgorithm::kMaxBackwardNhwc:
    case PoolAlgorithm::kAvgBackwardNhwc:
      return backward_nhwc<T>(plan, dy, argmax, dx, r);
    default:
      throw_wrong_plan("pool2d_backward", plan);
  }
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
