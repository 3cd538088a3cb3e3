// The plan of one pooling call: which algorithm runs and how it is split across threads.
// ISA-neutral (namespace convkit): plan_pool2d is compiled once (pool/plan.cpp; each table's
// pool2d_plan forwards to it), and every ISA's
// pool2d_forward / pool2d_backward executes the plan it is given without deciding anything again.
#pragma once

#include <cstdint>

#include "common.hpp"

namespace convkit {

enum class PoolPass : int32_t { kForward = 0, kBackward = 1 };

// One per code path. NCHW pools one output row of one plane at a time, output columns innermost;
// NHWC pools one output pixel at a time, vectorised over a block of channels. Max backward
// scatters dy through argmax; avg backward spreads dy / divisor over each window.
enum class PoolAlgorithm : int32_t {
  kMaxForwardNchw = 0,
  kAvgForwardNchw,
  kMaxForwardNhwc,
  kAvgForwardNhwc,
  kMaxBackwardNchw,
  kAvgBackwardNchw,
  kMaxBackwardNhwc,
  kAvgBackwardNhwc,
};

// Stable snake_case name of an algorithm ("max_forward_nchw", ...), for tests, benchmarks and
// debugging output; "unknown" for a value outside the enum.
const char* pool_algorithm_name(PoolAlgorithm algorithm);

struct PoolPlan {
  PoolShape shape;
  PoolPass pass = PoolPass::kForward;
  PoolAlgorithm algorithm = PoolAlgorithm::kMaxForwardNchw;
  // Threads the call uses; 1 runs it on the calling thread.
  int threads = 1;
  // The work is `units` independent units (NCHW forward: (plane, output row); NHWC forward:
  // (image, output row, channel block); NCHW backward: planes; NHWC backward: (image, channel
  // block)), handed to the runner as `tasks` contiguous ranges.
  int64_t units = 0;
  int64_t tasks = 1;
  // NHWC: channels are cut into channel_blocks blocks of channel_block (the last may be short);
  // NCHW: 1 block of c.
  int64_t channel_blocks = 1;
  int64_t channel_block = 0;
  // Scratch the call takes, in bytes, over all its threads (avg backward's per-thread share row).
  int64_t workspace_bytes = 0;
};

// The plan for a validated shape, dy/dx elements of element_bytes bytes, on a runner of
// `threads` threads. No allocation: it runs on every call.
PoolPlan plan_pool2d(const PoolShape& shape, PoolPass pass, int threads, int64_t element_bytes);

}  // namespace convkit
