// The ISA-neutral part of the plans, compiled once.
#include "plan.hpp"

#include <string>

namespace convkit {

const char* conv_algorithm_name(ConvAlgorithm algorithm) {
  switch (algorithm) {
    case ConvAlgorithm::kDirect:
      return "direct";
    case ConvAlgorithm::kDepthwise:
      return "depthwise";
    case ConvAlgorithm::kGemmNhwcBand:
      return "gemm_nhwc_band";
    case ConvAlgorithm::kGemmNhwcIm2col:
      return "gemm_nhwc_im2col";
    case ConvAlgorithm::kGemmNchw:
      return "gemm_nchw";
    case ConvAlgorithm::kDxAsForward:
      return "dx_as_forward";
    case ConvAlgorithm::kCol2imNhwc:
      return "col2im_nhwc";
    case ConvAlgorithm::kCol2imNchw:
      return "col2im_nchw";
    case ConvAlgorithm::kFilterGemmNhwc:
      return "filter_gemm_nhwc";
    case ConvAlgorithm::kFilterGemmNchw:
      return "filter_gemm_nchw";
  }
  return "unknown";
}

const char* conv_pass_name(ConvPass pass) {
  switch (pass) {
    case ConvPass::kForward:
      return "forward";
    case ConvPass::kBackwardInput:
      return "backward_input";
    case ConvPass::kBackwardFilter:
      return "backward_filter";
  }
  return "unknown";
}

__attribute__((cold)) void throw_unexecutable_plan(const ConvPlan& plan, const char* why) {
  throw Error(ErrorCode::ERR_INTERNAL, std::string("conv plan ") + conv_pass_name(plan.pass) + " " +
                                           conv_algorithm_name(plan.algorithm) + " (" + plan.isa + ", " +
                                           std::to_string(plan.element_bytes) + "-byte elements, " +
                                           std::to_string(plan.threads) + " threads) cannot run: " + why);
}

__attribute__((cold)) void throw_unexecutable_conv(const char* why) {
  throw Error(ErrorCode::ERR_INTERNAL, std::string("a conv kernel was asked to run ") + why);
}

}  // namespace convkit
