// Pooling forward, NHWC: channels are contiguous, so every window element is a vector op over a
// block of channels [c0, c0 + cn).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "common.hpp"
#include "isa/config.hpp"
#include "pool/chunks.hpp"
#include "pool/plan.hpp"
#include "pool/window.hpp"
#include "simd/simd.hpp"

namespace convkit {
namespace CONVKIT_ISA {
namespace pool_detail {

template <class T, bool kWithIndex, class Width>
void max_channels_nhwc(const PoolShape& s, const T* x_image, const Span& rows, const Span& cols, int64_t c0,
                       Width width, T* out, int32_t* out_index) {
  T best[kChunk<T>];
  int32_t best_index[kChunk<T>];
  const int32_t first_index = int32_t(rows.begin * s.w + cols.begin);
  for (int64_t ch = 0; ch < width; ++ch) {
    best[ch] = -std::numeric_limits<T>::infinity();
    best_index[ch] = first_index;
  }
  for (int64_t ih = rows.begin; ih < rows.end; ++ih)
    for (int64_t iw = cols.begin; iw < cols.end; ++iw) {
      const T* in = x_image + (ih * s.w + iw) * s.c + c0;
      const int32_t index = int32_t(ih * s.w + iw);
      for (int64_t ch = 0; ch < width; ++ch) {
        const T v = in[ch];
        const bool take = (v > best[ch]) | std::isnan(v);
        best[ch] = take ? v : best[ch];
        if constexpr (kWithIndex) best_index[ch] = take ? index : best_index[ch];
      }
    }
  for (int64_t ch = 0; ch < width; ++ch) out[ch] = best[ch];
  if constexpr (kWithIndex)
    for (int64_t ch = 0; ch < width; ++ch) out_index[ch] = best_index[ch];
}

template <class T, class Width>
void avg_channels_nhwc(const PoolShape& s, const T* x_image, const Span& rows, const Span& cols, int64_t c0,
                       Width width, T* out) {
  T sum[kChunk<T>];
  for (int64_t ch = 0; ch < width; ++ch) sum[ch] = T(0);
  for (int64_t ih = rows.begin; ih < rows.end; ++ih)
    for (int64_t iw = cols.begin; iw < cols.end; ++iw) {
      const T* in = x_image + (ih * s.w + iw) * s.c + c0;
      for (int64_t ch = 0; ch < width; ++ch) sum[ch] += in[ch];
    }
  const T divisor = T(avg_divisor(s, rows, cols));
  for (int64_t ch = 0; ch < width; ++ch) out[ch] = sum[ch] / divisor;
}

template <class T, bool kWithIndex, class Width>
void max_lanes_nhwc(const PoolShape& s, const T* x_image, const Span& rows, const Span& cols, int64_t c0, Width, T* out,
                    int32_t* out_index) {
  constexpr int64_t W = Width::value;
  MaxLanes<T, W, kWithIndex> acc(index_ramp<T, W>(rows.begin * s.w + cols.begin, 0));
  for (int64_t ih = rows.begin; ih < rows.end; ++ih)
    for (int64_t iw = cols.begin; iw < cols.end; ++iw)
      acc.update(load_lanes<T, W>(x_image + (ih * s.w + iw) * s.c + c0),
                 kWithIndex ? index_ramp<T, W>(ih * s.w + iw, 0) : acc.index);
  store_lanes<T, W>(out, acc.best);
  if constexpr (kWithIndex) store_indices<T, W>(out_index, acc.index);
}

template <class T, class Width>
void avg_lanes_nhwc(const PoolShape& s, const T* x_image, const Span& rows, const Span& cols, int64_t c0, Width,
                    T* out) {
  constexpr int64_t W = Width::value;
  Lanes<T, W> sum = {};
  for (int64_t ih = rows.begin; ih < rows.end; ++ih)
    for (int64_t iw = cols.begin; iw < cols.end; ++iw) sum += load_lanes<T, W>(x_image + (ih * s.w + iw) * s.c + c0);
  store_lanes<T, W>(out, sum / T(avg_divisor(s, rows, cols)));
}

// One output pixel, channels [c0, c0 + cn).
template <class T>
void pixel_nhwc(const PoolShape& s, const T* x_image, const Span& rows, const Span& cols, int64_t c0, int64_t cn,
                T* out, int32_t* out_index) {
  for_register_chunks<T>(c0, c0 + cn, [&](int64_t c, auto width) {
    T* o = out + (c - c0);
    int32_t* index = out_index ? out_index + (c - c0) : nullptr;
    if constexpr (!is_small_piece<T, decltype(width)>()) {
      if (s.mode == PoolMode::Avg)
        avg_channels_nhwc(s, x_image, rows, cols, c, width, o);
      else if (index)
        max_channels_nhwc<T, true>(s, x_image, rows, cols, c, width, o, index);
      else
        max_channels_nhwc<T, false>(s, x_image, rows, cols, c, width, o, nullptr);
    } else {
      if (s.mode == PoolMode::Avg)
        avg_lanes_nhwc(s, x_image, rows, cols, c, width, o);
      else if (index)
        max_lanes_nhwc<T, true>(s, x_image, rows, cols, c, width, o, index);
      else
        max_lanes_nhwc<T, false>(s, x_image, rows, cols, c, width, o, nullptr);
    }
  });
}

template <class T>
void forward_nhwc(const PoolPlan& plan, const T* x, T* y, int32_t* argmax, Runner& r) {
  const PoolShape& s = plan.shape;
  const int64_t blocks = plan.channel_blocks, block = plan.channel_block;
  for_unit_ranges(r, plan, [&](int64_t first, int64_t end, int) {
    for (int64_t u = first; u < end; ++u) {  // u = (image, output row, channel block)
      const int64_t row = u / blocks, c0 = (u % blocks) * block;
      const int64_t cn = std::min(block, s.c - c0);
      const int64_t image = row / s.oh, oh = row % s.oh;
      const T* x_image = x + image * s.h * s.w * s.c;
      const Span rows = window_span(oh, s.stride_h, s.pad_h, s.kh, s.h);
      for (int64_t ow = 0; ow < s.ow; ++ow) {
        const Span cols = window_span(ow, s.stride_w, s.pad_w, s.kw, s.w);
        const int64_t out_offset = (row * s.ow + ow) * s.c + c0;
        pixel_nhwc(s, x_image, rows, cols, c0, cn, y + out_offset, argmax ? argmax + out_offset : nullptr);
      }
    }
  });
}

}  // namespace pool_detail
}  // namespace CONVKIT_ISA
}  // namespace convkit
