// THE place where a convolution's algorithm is chosen: conv2d_plan(shape, pass, threads) on the
// ISA being compiled. The entry points (conv/conv.hpp) execute the plan without deciding again;
// the predicates below say which shapes each kernel serves well and which it can run at all.
#pragma once

#include <cstdint>

#include "checked.hpp"
#include "common.hpp"
#include "conv/backward_input.hpp"
#include "conv/geometry.hpp"
#include "conv/nhwc_band.hpp"
#include "conv/plan_workspace.hpp"
#include "gemm/blocking.hpp"
#include "isa/config.hpp"
#include "plan.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

inline double conv_multiply_adds(const ConvShape& s) {
  return double(s.n) * double(s.oh * s.ow) * double(s.cout) * double(s.cin_per_group() * s.kh * s.kw);
}

// One input channel per group: depthwise layers, and a single-channel input with more output
// channels than the direct kernel takes.
inline bool is_depthwise(const ConvShape& s) { return s.cin_per_group() == 1; }

// Grouped layers with a single input channel per group take the depthwise kernels; wider strides
// would turn every vector load into a gather.
inline bool direct_fits(const ConvShape& s) {
  const bool depthwise = s.groups > 1 && s.cin_per_group() == 1;
  return !depthwise && s.cout_per_group() <= kDirectMaxCout && s.stride_w <= 2;
}

inline bool direct_fits_backward_input(const ConvShape& s) {
  const bool depthwise = s.groups > 1 && s.cin_per_group() == 1;
  return !depthwise && s.cin_per_group() <= kDirectMaxCout && s.stride_h == 1 && s.stride_w == 1;
}

// The padded planes copy the input with its padding, dilation gaps and the last chunk's tail:
// with padding or dilation far beyond the image they dwarf both input and output (a one-pixel
// input with dilation 40000 would need 6.4 GB). Such layers take the depthwise or GEMM paths,
// which test bounds or build im2col tiles, and whose workspaces scale with the output instead.
template <class T>
bool direct_planes_fit(const DirectGeometry& d) {
  const int64_t planes = saturating_product({d.cin_g(), d.padded_h(), d.padded_w<T>()});
  const int64_t in_and_out =
      saturating_sum(saturating_product({d.h, d.w}), saturating_product({d.oh, round_up(d.ow, d.chunk<T>())}));
  return planes <= saturating_sum(saturating_product({4, d.cin_g(), in_and_out}), kSmallWorkspace);
}

// dx as the banded forward of dY needs stride 1 and no padding beyond the kernel's reach (the
// forward of dY would need negative padding).
inline bool backward_input_as_forward(const ConvShape& s) {
  const int64_t reach_h = (s.kh - 1) * s.dilation_h, reach_w = (s.kw - 1) * s.dilation_w;
  return s.layout == Layout::NHWC && s.stride_h == 1 && s.stride_w == 1 && s.pad_top <= reach_h &&
         s.pad_bottom <= reach_h && s.pad_left <= reach_w && s.pad_right <= reach_w;
}

// The algorithm for one pass of a validated shape, in order of preference: the direct kernel for
// few channels per group, the depthwise kernels for one input channel per group, else a GEMM.
// The NHWC band (forward, and dx as a forward of dY) is skipped where padding or dilation gaps
// would make it dwarf the data it copies (NhwcBand::fits). No allocation: this runs every call.
template <class T>
ConvPlan conv2d_plan(const ConvShape& s, ConvPass pass, int threads) {
  ConvPlan plan;
  plan.shape = s;
  plan.pass = pass;
  plan.isa = kIsaName;
  plan.element_bytes = int(sizeof(T));
  // Too little work to wake the pool: the op runs on the caller's thread.
  plan.threads = threads > 1 && conv_multiply_adds(s) < kSerialWork ? 1 : (threads < 1 ? 1 : threads);
  const bool nhwc = s.layout == Layout::NHWC;
  switch (pass) {
    case ConvPass::kForward:
      if (direct_fits(s) && direct_planes_fit<T>(forward_geometry(s)))
        plan.algorithm = ConvAlgorithm::kDirect;
      else if (is_depthwise(s))
        plan.algorithm = ConvAlgorithm::kDepthwise;
      else if (!nhwc)
        plan.algorithm = ConvAlgorithm::kGemmNchw;
      else if (NhwcBand(s, Blocking<T>::MC, plan.threads).fits)
        plan.algorithm = ConvAlgorithm::kGemmNhwcBand;
      else
        plan.algorithm = ConvAlgorithm::kGemmNhwcIm2col;
      break;
    case ConvPass::kBackwardInput:
      if (direct_fits_backward_input(s) && direct_planes_fit<T>(backward_input_geometry(s)))
        plan.algorithm = ConvAlgorithm::kDirect;
      else if (is_depthwise(s))
        plan.algorithm = ConvAlgorithm::kDepthwise;
      else if (backward_input_as_forward(s) && NhwcBand(dx_as_forward_shape(s), Blocking<T>::MC, plan.threads).fits)
        plan.algorithm = ConvAlgorithm::kDxAsForward;
      else
        plan.algorithm = nhwc ? ConvAlgorithm::kCol2imNhwc : ConvAlgorithm::kCol2imNchw;
      break;
    case ConvPass::kBackwardFilter:
      if (direct_fits(s) && direct_planes_fit<T>(forward_geometry(s)))
        plan.algorithm = ConvAlgorithm::kDirect;
      else if (is_depthwise(s))
        plan.algorithm = ConvAlgorithm::kDepthwise;
      else
        plan.algorithm = nhwc ? ConvAlgorithm::kFilterGemmNhwc : ConvAlgorithm::kFilterGemmNchw;
      break;
    default:
      throw_unexecutable_plan(plan, "an unknown pass");
  }
  plan.workspace_bytes = conv2d_workspace_bytes<T>(plan);
  return plan;
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
