// Geometry shared by the pooling kernels: a window's extent along one dimension, the average's
// divisor, the output columns whose windows need no clipping, and the plan's unit ranges.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common.hpp"
#include "isa/config.hpp"
#include "pool/plan.hpp"

namespace convkit {
namespace CONVKIT_ISA {
namespace pool_detail {

// One pooling window along one dimension.
struct Span {
  int64_t begin, end;   // clipped to the real input [0, in)
  int64_t padded_size;  // size clipped to the padded input [-pad, in + pad) only
};

inline Span window_span(int64_t out_index, int64_t stride, int64_t pad, int64_t k, int64_t in) {
  const int64_t start = out_index * stride - pad;
  const int64_t padded_end = std::min(start + k, in + pad);
  return Span{std::max<int64_t>(start, 0), std::min(padded_end, in), padded_end - start};
}

// PyTorch's divisor: the window clipped to the padded input (count_include_pad) or its number of
// real elements.
inline int64_t avg_divisor(const PoolShape& s, const Span& rows, const Span& cols) {
  return s.count_include_pad ? rows.padded_size * cols.padded_size : (rows.end - rows.begin) * (cols.end - cols.begin);
}

// Output columns [first, end) whose windows lie entirely inside the input horizontally.
struct InteriorColumns {
  int64_t first, end;
};

inline InteriorColumns interior_columns(const PoolShape& s) {
  const int64_t first = std::min((s.pad_w + s.stride_w - 1) / s.stride_w, s.ow);
  const int64_t last_start = s.w + s.pad_w - s.kw;  // largest ow * stride_w that still fits
  const int64_t end = last_start < 0 ? 0 : std::min(last_start / s.stride_w + 1, s.ow);
  return InteriorColumns{first, std::max(first, end)};
}

// Runs fn(first_unit, end_unit, thread) over the plan's units, cut into its tasks' contiguous
// ranges.
template <class F>
void for_unit_ranges(Runner& r, const PoolPlan& plan, F&& fn) {
  const int64_t units = plan.units, tasks = plan.tasks;
  parallel_for(r, tasks, [&](int64_t task, int thread) {
    const int64_t first = units * task / tasks;
    const int64_t end = units * (task + 1) / tasks;
    if (first < end) fn(first, end, thread);
  });
}

}  // namespace pool_detail
}  // namespace CONVKIT_ISA
}  // namespace convkit
