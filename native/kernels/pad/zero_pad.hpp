// Zero padding of the two spatial dimensions. Both layouts are rows of "pixels": NCHW has n*c
// planes of 1-element pixels, NHWC has n planes of c-element pixels; every output row is then
// a memset / memcpy / memset.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common.hpp"
#include "isa/config.hpp"
#include "parallel.hpp"

namespace convkit {
namespace CONVKIT_ISA {

template <class T>
void zero_pad(const PadShape& s, const T* x, T* y, Runner& r) {
  const bool nchw = s.layout == Layout::NCHW;
  const int64_t planes = nchw ? s.n * s.c : s.n;
  const int64_t pixel = nchw ? 1 : s.c;
  const int64_t out_h = s.out_h();
  const size_t in_row_bytes = sizeof(T) * size_t(s.w * pixel);
  const size_t left_bytes = sizeof(T) * size_t(s.pad_left * pixel);
  const size_t right_bytes = sizeof(T) * size_t(s.pad_right * pixel);
  const int64_t out_row = s.out_w() * pixel;
  const int64_t rows = planes * out_h;

  int64_t tasks = 1;
  if (r.num_threads() > 1 && rows * out_row >= kPadMinParallelElements)
    tasks = std::min<int64_t>(rows, r.num_threads() * kTasksPerThread);
  parallel_for(r, tasks, [&](int64_t task, int) {
    const int64_t first = rows * task / tasks, end = rows * (task + 1) / tasks;
    for (int64_t row = first; row < end; ++row) {
      T* out = y + row * out_row;
      const int64_t plane = row / out_h, ih = row % out_h - s.pad_top;
      if (ih < 0 || ih >= s.h) {
        std::memset(out, 0, sizeof(T) * size_t(out_row));
        continue;
      }
      std::memset(out, 0, left_bytes);
      std::memcpy(out + s.pad_left * pixel, x + (plane * s.h + ih) * s.w * pixel, in_row_bytes);
      std::memset(out + (s.pad_left + s.w) * pixel, 0, right_bytes);
    }
  });
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
