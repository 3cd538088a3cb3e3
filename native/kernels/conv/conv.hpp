// The convolution entry points of the KernelTable: each executes a plan from conv2d_plan
// (conv/choose.hpp), then makes the border exact next to non-finite values
// (conv/padding_repair.hpp). A plan the entry cannot run (another ISA's or element type's,
// another pass's, or an algorithm whose preconditions the shape breaks) is ERR_INTERNAL.
#pragma once

#include <cstdint>
#include <cstring>

#include "common.hpp"
#include "conv/backward_filter.hpp"
#include "conv/backward_input.hpp"
#include "conv/choose.hpp"
#include "conv/depthwise.hpp"
#include "conv/direct.hpp"
#include "conv/gemm_forward.hpp"
#include "conv/padding_repair.hpp"
#include "conv/weights.hpp"
#include "isa/config.hpp"
#include "plan.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// Throws unless this table and element type can run `plan` for `pass`: cheap checks of the
// preconditions each algorithm relies on, so that a wrong plan fails loudly instead of
// computing garbage.
template <class T>
void check_conv_plan(const ConvPlan& plan, ConvPass pass) {
  const ConvShape& s = plan.shape;
  if (plan.isa != kIsaName && std::strcmp(plan.isa, kIsaName) != 0)
    throw_unexecutable_plan(plan, "it was made by another kernel table");
  if (plan.element_bytes != int(sizeof(T))) throw_unexecutable_plan(plan, "it was made for another element type");
  if (plan.pass != pass) throw_unexecutable_plan(plan, "it plans another pass");
  const bool nhwc = s.layout == Layout::NHWC;
  bool runnable;
  switch (plan.algorithm) {
    case ConvAlgorithm::kDirect:
      runnable = pass == ConvPass::kBackwardInput ? direct_fits_backward_input(s) : direct_fits(s);
      break;
    case ConvAlgorithm::kDepthwise:
      runnable = is_depthwise(s);
      break;
    case ConvAlgorithm::kGemmNhwcBand:
    case ConvAlgorithm::kGemmNhwcIm2col:
      runnable = pass == ConvPass::kForward && nhwc;
      break;
    case ConvAlgorithm::kGemmNchw:
      runnable = pass == ConvPass::kForward && !nhwc;
      break;
    case ConvAlgorithm::kDxAsForward:
      runnable = pass == ConvPass::kBackwardInput && backward_input_as_forward(s);
      break;
    case ConvAlgorithm::kCol2imNhwc:
      runnable = pass == ConvPass::kBackwardInput && nhwc;
      break;
    case ConvAlgorithm::kCol2imNchw:
      runnable = pass == ConvPass::kBackwardInput && !nhwc;
      break;
    case ConvAlgorithm::kFilterGemmNhwc:
      runnable = pass == ConvPass::kBackwardFilter && nhwc;
      break;
    case ConvAlgorithm::kFilterGemmNchw:
      runnable = pass == ConvPass::kBackwardFilter && !nhwc;
      break;
    default:
      runnable = false;
  }
  if (!runnable) throw_unexecutable_plan(plan, "its algorithm cannot run this shape and pass");
}

// Calls fn(runner) on the runner the plan was made for, or on a serial view of it when the plan
// keeps the op on the calling thread.
template <class F>
void with_planned_runner(const ConvPlan& plan, Runner& runner, F&& fn) {
  if (plan.threads == runner.num_threads()) {
    fn(runner);
  } else if (plan.threads == 1) {
    SerialView serial(runner);
    fn(static_cast<Runner&>(serial));
  } else {
    throw_unexecutable_plan(plan, "it was made for another thread count");
  }
}

// Packed weights are only used by the im2col + GEMM path, which depthwise layers never take.
template <class T>
int64_t conv2d_packed_weights_size(const ConvShape& s) {
  return is_depthwise(s) ? 0 : gemm_forward_weights_size<T>(s);
}

template <class T>
void conv2d_pack_weights(const ConvShape& s, const T* w, T* packed, Runner& runner) {
  if (conv2d_packed_weights_size<T>(s) == 0) return;
  with_sized_runner(runner, double(s.w_size()), [&](Runner& r) { pack_gemm_forward_weights(s, w, packed, r); });
}

// `packed` (from conv2d_pack_weights, or null) saves the GEMM path its per-call packing.
template <class T>
void conv2d_forward(const ConvPlan& plan, const T* x, const T* w, const T* packed, const T* b, T* y, Runner& runner) {
  check_conv_plan<T>(plan, ConvPass::kForward);
  const ConvShape& s = plan.shape;
  with_planned_runner(plan, runner, [&](Runner& r) {
    switch (plan.algorithm) {
      case ConvAlgorithm::kDirect:
        direct_forward(s, x, w, b, y, r);
        break;
      case ConvAlgorithm::kDepthwise:
        depthwise_forward(s, x, w, b, y, r);
        break;
      case ConvAlgorithm::kGemmNhwcBand:
        conv2d_forward_nhwc(s, x, packed_forward_weights(s, w, packed, r), b, y, r);
        break;
      case ConvAlgorithm::kGemmNhwcIm2col:
        conv2d_forward_nhwc_im2col(s, x, packed_forward_weights(s, w, packed, r), b, y, r);
        break;
      default:  // kGemmNchw (check_conv_plan allows no other)
        conv2d_forward_nchw(s, x, packed_forward_weights(s, w, packed, r), b, y, r);
        break;
    }
    forward_padding_exact(s, x, w, b, y, r);
  });
}

template <class T>
void conv2d_backward_input(const ConvPlan& plan, const T* dy, const T* w, T* dx, Runner& runner) {
  check_conv_plan<T>(plan, ConvPass::kBackwardInput);
  const ConvShape& s = plan.shape;
  with_planned_runner(plan, runner, [&](Runner& r) {
    switch (plan.algorithm) {
      case ConvAlgorithm::kDirect:
        direct_backward_input(s, dy, w, dx, r);
        break;
      case ConvAlgorithm::kDepthwise:
        depthwise_backward_input(s, dy, w, dx, r);
        break;
      case ConvAlgorithm::kDxAsForward:
        conv2d_backward_input_nhwc_as_forward(s, dy, w, dx, r);
        break;
      case ConvAlgorithm::kCol2imNhwc:
        conv2d_backward_input_nhwc(s, dy, w, dx, r);
        break;
      default:  // kCol2imNchw
        conv2d_backward_input_nchw(s, dy, w, dx, r);
        break;
    }
    backward_input_padding_exact(s, dy, w, dx, r);
  });
}

template <class T>
void conv2d_backward_filter(const ConvPlan& plan, const T* dy, const T* x, T* dw, T* db, Runner& runner) {
  check_conv_plan<T>(plan, ConvPass::kBackwardFilter);
  const ConvShape& s = plan.shape;
  with_planned_runner(plan, runner, [&](Runner& r) {
    switch (plan.algorithm) {
      case ConvAlgorithm::kDirect:
        direct_backward_filter(s, dy, x, dw, db, r);
        break;
      case ConvAlgorithm::kDepthwise:
        depthwise_backward_filter(s, dy, x, dw, db, r);
        break;
      case ConvAlgorithm::kFilterGemmNhwc:
        conv2d_backward_filter_nhwc(s, dy, x, dw, db, r);
        break;
      default:  // kFilterGemmNchw
        conv2d_backward_filter_nchw(s, dy, x, dw, db, r);
        break;
    }
    backward_filter_padding_exact(s, dy, x, dw, r);
  });
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
