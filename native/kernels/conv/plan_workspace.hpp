// The workspace a conv plan reports (ConvPlan::workspace_bytes): the requests of the planned
// algorithm and of the padding repair after it, declared by the same workspace structs the
// kernels size their scratch with, so that the figure cannot drift from what they ask for.
#pragma once

#include <cstdint>

#include "common.hpp"
#include "conv/accumulate.hpp"
#include "conv/backward_filter.hpp"
#include "conv/backward_input.hpp"
#include "conv/depthwise.hpp"
#include "conv/direct.hpp"
#include "conv/gemm_forward.hpp"
#include "conv/geometry.hpp"
#include "conv/padding_repair.hpp"
#include "conv/weights.hpp"
#include "isa/config.hpp"
#include "plan.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// Bytes of scratch that executing `plan` on a fresh runner leaves it holding, as defined at
// ConvPlan::workspace_bytes. Nothing is allocated: it runs every call.
template <class T>
int64_t conv2d_workspace_bytes(const ConvPlan& plan) {
  const ConvShape& s = plan.shape;
  WorkspaceTally tally(plan.threads);
  switch (plan.algorithm) {
    case ConvAlgorithm::kDirect:
      if (plan.pass == ConvPass::kForward) DirectWorkspace<T>(forward_geometry(s)).add_to(tally);
      if (plan.pass == ConvPass::kBackwardInput) DirectWorkspace<T>(backward_input_geometry(s)).add_to(tally);
      if (plan.pass == ConvPass::kBackwardFilter) DirectFilterWorkspace<T>(forward_geometry(s)).add_to(s, tally);
      break;
    case ConvAlgorithm::kDepthwise:
      // The depthwise forward needs no scratch.
      if (plan.pass == ConvPass::kBackwardInput) DepthwiseBackwardInputWorkspace<T>(s).add_to(tally);
      if (plan.pass == ConvPass::kBackwardFilter) Partials<T>::add_to(s.w_size(), s.cout, false, tally);
      break;
    case ConvAlgorithm::kGemmNhwcBand:
      ForwardWeightsWorkspace<T>(s).add_to(tally);
      NhwcBandWorkspace<T>(s, plan.threads).add_to(tally);
      break;
    case ConvAlgorithm::kGemmNhwcIm2col:
      ForwardWeightsWorkspace<T>(s).add_to(tally);
      NhwcIm2colWorkspace<T>(s).add_to(tally);
      break;
    case ConvAlgorithm::kGemmNchw:
      ForwardWeightsWorkspace<T>(s).add_to(tally);
      NchwGemmWorkspace<T>(s, plan.threads).add_to(tally);
      break;
    case ConvAlgorithm::kDxAsForward:
      DxAsForwardWorkspace<T>(s).add_to(tally);
      break;
    case ConvAlgorithm::kCol2imNhwc:
    case ConvAlgorithm::kCol2imNchw:
      Col2imWorkspace<T>(s).add_to(s, tally);
      break;
    case ConvAlgorithm::kFilterGemmNhwc:
      FilterGemmNhwcWorkspace<T>(s).add_to(s, tally);
      break;
    case ConvAlgorithm::kFilterGemmNchw:
      FilterGemmNchwWorkspace<T>(s).add_to(s, tally);
      break;
    default:
      throw_unexecutable_plan(plan, "an unknown algorithm");
  }
  add_repair_workspace<T>(s, plan.pass, tally);
  return tally.bytes();
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
