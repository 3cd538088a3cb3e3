// Plans: which algorithm an op runs for a shape, chosen in one place per op and handed to the
// kernel entry points, which execute it without deciding again. ISA-neutral types only; the
// planning functions themselves depend on the ISA's constants and live in the KernelTable
// (KernelOps::conv2d_plan).
#pragma once

#include <cstdint>

#include "common.hpp"

namespace convkit {

// ---------------------------------------------------------------- convolution

enum class ConvPass : int32_t { kForward = 0, kBackwardInput = 1, kBackwardFilter = 2 };

// One value per way of computing a pass; each pass uses a subset (see conv/choose.hpp).
enum class ConvAlgorithm : int32_t {
  kDirect = 0,      // direct kernel on zero-padded planes (few output channels per group)
  kDepthwise,       // one input channel per group (depthwise, or a single-channel input)
  kGemmNhwcBand,    // forward NHWC: GEMM reading A rows in place from a padded input band
  kGemmNhwcIm2col,  // forward NHWC: GEMM over packed im2col tiles (band mostly padding)
  kGemmNchw,        // forward NCHW: GEMM over im2col B panels
  kDxAsForward,     // dx NHWC stride 1: banded forward of dY with the flipped weights
  kCol2imNhwc,      // dx NHWC: dY x W^T tiles scattered back by col2im
  kCol2imNchw,      // dx NCHW: the same in NCHW
  kFilterGemmNhwc,  // dw NHWC: GEMM of im2col and dY, per-thread partials
  kFilterGemmNchw,  // dw NCHW: the same in NCHW
};

constexpr int kConvAlgorithmCount = int(ConvAlgorithm::kFilterGemmNchw) + 1;

// Stable snake_case name ("direct", "gemm_nhwc_band", ...); "unknown" for a value out of range.
const char* conv_algorithm_name(ConvAlgorithm algorithm);
const char* conv_pass_name(ConvPass pass);

// What KernelOps::conv2d_plan decided for one call. Execution checks that the plan was made by
// the same kernel table and element type (isa, element_bytes) and throws ERR_INTERNAL otherwise.
struct ConvPlan {
  ConvShape shape;
  ConvPass pass = ConvPass::kForward;
  ConvAlgorithm algorithm = ConvAlgorithm::kDirect;
  // Threads the op runs on: 1 means on a SerialView of the runner (too little work to split),
  // else the runner's own thread count.
  int threads = 1;
  // Bytes of scratch the call needs from its runner: the sum, over every (thread, slot) buffer
  // the call requests (per-thread ones on the threads that run a task, and the shared one), of
  // the largest request made to it; what a fresh runner holds after the call. An upper bound
  // where the need depends on the arguments or the data: it counts packing the weights (none
  // when the caller passes packed ones), the bias gradient's partials (none without db), and
  // the padding repair whenever the shape has border pixels (it runs only next to non-finite
  // values). kSaturated if it does not fit in int64 (the call then fails with ERR_TOO_LARGE).
  int64_t workspace_bytes = 0;
  const char* isa = "";   // KernelTable::isa of the table that planned
  int element_bytes = 0;  // 4 (float) or 8 (double)
};

// Throw Error(ErrorCode::ERR_INTERNAL): for a plan the executing table cannot run (naming the plan and
// why), or for a kernel branch that only a wrong plan reaches. Out of line and cold.
[[noreturn]] void throw_unexecutable_plan(const ConvPlan& plan, const char* why);
[[noreturn]] void throw_unexecutable_conv(const char* why);

}  // namespace convkit
