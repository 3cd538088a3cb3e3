// Pooling forward, NCHW: one output row of one plane at a time. Interior columns are computed
// with the output columns innermost (several windows advance together, each still in row-major
// window order); the few edge columns take the clipped per-window path.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "common.hpp"
#include "isa/config.hpp"
#include "pool/chunks.hpp"
#include "pool/plan.hpp"
#include "pool/window.hpp"
#include "simd/simd.hpp"

namespace convkit {
namespace CONVKIT_ISA {
namespace pool_detail {

template <class T, bool kWithIndex>
void max_window_nchw(const PoolShape& s, const T* plane, const Span& rows, const Span& cols, T* out,
                     int32_t* out_index) {
  T best = -std::numeric_limits<T>::infinity();
  int64_t best_index = rows.begin * s.w + cols.begin;
  for (int64_t ih = rows.begin; ih < rows.end; ++ih)
    for (int64_t iw = cols.begin; iw < cols.end; ++iw) {
      const T v = plane[ih * s.w + iw];
      if (v > best || std::isnan(v)) {
        best = v;
        best_index = ih * s.w + iw;
      }
    }
  *out = best;
  if constexpr (kWithIndex) *out_index = int32_t(best_index);
}

// Interior output columns [ow0, ow0 + width) of one output row; their windows lie inside the
// input horizontally, and each is still scanned in row-major window order.
template <class T, bool kWithIndex, class Stride, class Width>
void max_columns_nchw(const PoolShape& s, const T* plane, const Span& rows, int64_t ow0, Stride sw, Width width,
                      T* y_out, int32_t* index_out) {
  T best[kChunk<T>];
  int32_t best_index[kChunk<T>];
  const int64_t first_column = ow0 * sw - s.pad_w;  // >= 0 for interior columns
  for (int64_t k = 0; k < width; ++k) {
    best[k] = -std::numeric_limits<T>::infinity();
    best_index[k] = int32_t(rows.begin * s.w + first_column + k * sw);
  }
  for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
    const int64_t row_start = ih * s.w + first_column;
    const T* x_cols = plane + row_start;
    for (int64_t j = 0; j < s.kw; ++j)
      for (int64_t k = 0; k < width; ++k) {
        const T v = x_cols[k * sw + j];
        const bool take = (v > best[k]) | std::isnan(v);
        best[k] = take ? v : best[k];
        if constexpr (kWithIndex) best_index[k] = take ? int32_t(row_start + k * sw + j) : best_index[k];
      }
  }
  for (int64_t k = 0; k < width; ++k) y_out[k] = best[k];
  if constexpr (kWithIndex)
    for (int64_t k = 0; k < width; ++k) index_out[k] = best_index[k];
}

template <class T, class Stride, class Width>
void avg_columns_nchw(const PoolShape& s, const T* plane, const Span& rows, int64_t ow0, Stride sw, Width width,
                      T divisor, T* y_out) {
  T sum[kChunk<T>];
  for (int64_t k = 0; k < width; ++k) sum[k] = T(0);
  const int64_t first_column = ow0 * sw - s.pad_w;
  for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
    const T* x_cols = plane + ih * s.w + first_column;
    for (int64_t j = 0; j < s.kw; ++j)
      for (int64_t k = 0; k < width; ++k) sum[k] += x_cols[k * sw + j];
  }
  for (int64_t k = 0; k < width; ++k) y_out[k] = sum[k] / divisor;
}

template <class T, bool kWithIndex, class Stride, class Width>
void max_lanes_nchw(const PoolShape& s, const T* plane, const Span& rows, int64_t ow0, Stride sw, Width, T* y_out,
                    int32_t* index_out) {
  constexpr int64_t W = Width::value;
  const int64_t first_column = ow0 * sw - s.pad_w;  // >= 0 for interior columns
  MaxLanes<T, W, kWithIndex> acc(index_ramp<T, W>(rows.begin * s.w + first_column, sw));
  for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
    const int64_t row_start = ih * s.w + first_column;
    for (int64_t j = 0; j < s.kw; ++j)
      acc.update(load_strided_lanes<T, W>(plane + row_start + j, sw),
                 kWithIndex ? index_ramp<T, W>(row_start + j, sw) : acc.index);
  }
  store_lanes<T, W>(y_out, acc.best);
  if constexpr (kWithIndex) store_indices<T, W>(index_out, acc.index);
}

template <class T, class Stride, class Width>
void avg_lanes_nchw(const PoolShape& s, const T* plane, const Span& rows, int64_t ow0, Stride sw, Width, T divisor,
                    T* y_out) {
  constexpr int64_t W = Width::value;
  Lanes<T, W> sum = {};
  const int64_t first_column = ow0 * sw - s.pad_w;
  for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
    const T* x_cols = plane + ih * s.w + first_column;
    for (int64_t j = 0; j < s.kw; ++j) sum += load_strided_lanes<T, W>(x_cols + j, sw);
  }
  store_lanes<T, W>(y_out, sum / divisor);
}

template <class T, bool kWithIndex, class Stride>
void max_row_nchw(const PoolShape& s, const T* plane, int64_t oh, Stride sw, T* y_row, int32_t* index_row) {
  const Span rows = window_span(oh, s.stride_h, s.pad_h, s.kh, s.h);
  const InteriorColumns inner = interior_columns(s);
  for_register_chunks<T>(inner.first, inner.end, [&](int64_t ow0, auto width) {
    int32_t* index_out = kWithIndex ? index_row + ow0 : nullptr;
    if constexpr (!is_small_piece<T, decltype(width)>())
      max_columns_nchw<T, kWithIndex>(s, plane, rows, ow0, sw, width, y_row + ow0, index_out);
    else
      max_lanes_nchw<T, kWithIndex>(s, plane, rows, ow0, sw, width, y_row + ow0, index_out);
  });
  auto edge_column = [&](int64_t ow) {
    const Span cols = window_span(ow, s.stride_w, s.pad_w, s.kw, s.w);
    max_window_nchw<T, kWithIndex>(s, plane, rows, cols, &y_row[ow], kWithIndex ? &index_row[ow] : nullptr);
  };
  for (int64_t ow = 0; ow < inner.first; ++ow) edge_column(ow);
  for (int64_t ow = inner.end; ow < s.ow; ++ow) edge_column(ow);
}

template <class T, class Stride>
void avg_row_nchw(const PoolShape& s, const T* plane, int64_t oh, Stride sw, T* y_row) {
  const Span rows = window_span(oh, s.stride_h, s.pad_h, s.kh, s.h);
  const InteriorColumns inner = interior_columns(s);
  if (inner.first < inner.end) {
    // Every interior window spans kw real columns, so they share one divisor.
    const Span cols = window_span(inner.first, s.stride_w, s.pad_w, s.kw, s.w);
    const T divisor = T(avg_divisor(s, rows, cols));
    for_register_chunks<T>(inner.first, inner.end, [&](int64_t ow0, auto width) {
      if constexpr (!is_small_piece<T, decltype(width)>())
        avg_columns_nchw(s, plane, rows, ow0, sw, width, divisor, y_row + ow0);
      else
        avg_lanes_nchw(s, plane, rows, ow0, sw, width, divisor, y_row + ow0);
    });
  }
  auto edge_column = [&](int64_t ow) {
    const Span cols = window_span(ow, s.stride_w, s.pad_w, s.kw, s.w);
    T sum = T(0);
    for (int64_t ih = rows.begin; ih < rows.end; ++ih)
      for (int64_t iw = cols.begin; iw < cols.end; ++iw) sum += plane[ih * s.w + iw];
    y_row[ow] = sum / T(avg_divisor(s, rows, cols));
  };
  for (int64_t ow = 0; ow < inner.first; ++ow) edge_column(ow);
  for (int64_t ow = inner.end; ow < s.ow; ++ow) edge_column(ow);
}

template <class T>
void forward_nchw(const PoolPlan& plan, const T* x, T* y, int32_t* argmax, Runner& r) {
  const PoolShape& s = plan.shape;
  const int64_t plane_in = s.h * s.w, plane_out = s.oh * s.ow;
  with_stride(s.stride_w, [&](auto sw) {
    for_unit_ranges(r, plan, [&](int64_t first, int64_t end, int) {
      for (int64_t u = first; u < end; ++u) {  // u = (plane, output row)
        const int64_t plane = u / s.oh, oh = u % s.oh;
        const T* x_plane = x + plane * plane_in;
        const int64_t out_offset = plane * plane_out + oh * s.ow;
        if (s.mode == PoolMode::Avg)
          avg_row_nchw(s, x_plane, oh, sw, y + out_offset);
        else if (argmax)
          max_row_nchw<T, true>(s, x_plane, oh, sw, y + out_offset, argmax + out_offset);
        else
          max_row_nchw<T, false>(s, x_plane, oh, sw, y + out_offset, nullptr);
      }
    });
  });
}

}  // namespace pool_detail
}  // namespace CONVKIT_ISA
}  // namespace convkit
