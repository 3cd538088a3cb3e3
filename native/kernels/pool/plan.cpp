// The one place where a pooling call's algorithm and thread split are chosen. Compiled once,
// without any ISA's flags: nothing here depends on the vector width.
#include "pool/plan.hpp"

#include <algorithm>
#include <cstdint>

#include "common.hpp"
#include "parallel.hpp"

namespace convkit {

const char* pool_algorithm_name(PoolAlgorithm algorithm) {
  switch (algorithm) {
    case PoolAlgorithm::kMaxForwardNchw:
      return "max_forward_nchw";
    case PoolAlgorithm::kAvgForwardNchw:
      return "avg_forward_nchw";
    case PoolAlgorithm::kMaxForwardNhwc:
      return "max_forward_nhwc";
    case PoolAlgorithm::kAvgForwardNhwc:
      return "avg_forward_nhwc";
    case PoolAlgorithm::kMaxBackwardNchw:
      return "max_backward_nchw";
    case PoolAlgorithm::kAvgBackwardNchw:
      return "avg_backward_nchw";
    case PoolAlgorithm::kMaxBackwardNhwc:
      return "max_backward_nhwc";
    case PoolAlgorithm::kAvgBackwardNhwc:
      return "avg_backward_nhwc";
  }
  return "unknown";
}

namespace {

PoolAlgorithm algorithm_of(const PoolShape& s, PoolPass pass) {
  const bool nchw = s.layout == Layout::NCHW, max = s.mode == PoolMode::Max;
  if (pass == PoolPass::kForward) {
    if (nchw) return max ? PoolAlgorithm::kMaxForwardNchw : PoolAlgorithm::kAvgForwardNchw;
    return max ? PoolAlgorithm::kMaxForwardNhwc : PoolAlgorithm::kAvgForwardNhwc;
  }
  if (nchw) return max ? PoolAlgorithm::kMaxBackwardNchw : PoolAlgorithm::kAvgBackwardNchw;
  return max ? PoolAlgorithm::kMaxBackwardNhwc : PoolAlgorithm::kAvgBackwardNhwc;
}

}  // namespace

PoolPlan plan_pool2d(const PoolShape& s, PoolPass pass, int threads, int64_t element_bytes) {
  PoolPlan p;
  p.shape = s;
  p.pass = pass;
  p.algorithm = algorithm_of(s, pass);
  const bool nchw = s.layout == Layout::NCHW, forward = pass == PoolPass::kForward;

  // Element operations of the whole call, in double so that no shape can overflow them.
  const double taps = double(s.n) * double(s.c) * double(s.oh) * double(s.ow) * double(s.kh) * double(s.kw);
  const double work = forward ? taps : taps + double(s.n) * double(s.c) * double(s.h) * double(s.w);
  const int64_t usable = threads > 1 && work >= double(kPoolMinParallelWork) ? threads : 1;

  // Backward tasks own whole planes (NCHW) or (image, channel block) slabs (NHWC): windows of one
  // plane overlap, so no two tasks may write the same dx element.
  int64_t units = nchw ? (forward ? s.n * s.c * s.oh : s.n * s.c) : (forward ? s.n * s.oh : s.n);
  p.channel_block = s.c;
  if (!nchw && usable > 1 && units < usable * kTasksPerThread) {
    const int64_t wanted_units = usable * kTasksPerThread;
    const int64_t blocks =
        std::min((wanted_units + units - 1) / units, std::max<int64_t>(s.c / kPoolMinChannelBlock, 1));
    p.channel_block = (s.c + blocks - 1) / blocks;
  }
  // Recounted from the block size, so that no block is empty.
  p.channel_blocks = (s.c + p.channel_block - 1) / p.channel_block;
  units *= p.channel_blocks;

  p.units = units;
  p.tasks = usable > 1 ? std::min(units, usable * kTasksPerThread) : 1;
  p.threads = int(std::min<int64_t>(usable, p.tasks));
  if (p.algorithm == PoolAlgorithm::kAvgBackwardNchw) p.workspace_bytes = s.ow * element_bytes * p.threads;
  if (p.algorithm == PoolAlgorithm::kAvgBackwardNhwc) p.workspace_bytes = p.channel_block * element_bytes * p.threads;
  return p;
}

}  // namespace convkit
