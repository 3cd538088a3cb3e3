// Pooling backward. Windows of one plane may overlap, so a task owns whole planes (NCHW) or whole
// (image, channel block) slabs (NHWC), and no two tasks write the same dx element. Max scatters dy
// through the forward's argmax (checked: a corrupt index is ERR_ARG, never followed); avg adds
// dy / divisor to every element of the window.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "common.hpp"
#include "isa/config.hpp"
#include "pool/plan.hpp"
#include "pool/window.hpp"
#include "simd/simd.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {
namespace pool_detail {

[[noreturn]] inline void throw_bad_argmax(int64_t index, int64_t plane_size) {
  throw Error(ErrorCode::ERR_ARG, "argmax holds " + std::to_string(index) + ", outside the input plane of " +
                                      std::to_string(plane_size) + " elements: it must come from the forward pass");
}

// Avg backward of one output row into its plane: interior columns go tap by tap with the output
// columns innermost (within one tap the columns hit distinct dx elements), edges one by one.
template <class T, class Stride>
void avg_backward_row_nchw(const PoolShape& s, const T* dy_row, int64_t oh, Stride sw, T* __restrict share,
                           T* __restrict dx_plane) {
  const Span rows = window_span(oh, s.stride_h, s.pad_h, s.kh, s.h);
  const InteriorColumns inner = interior_columns(s);
  if (inner.first < inner.end) {
    const Span cols = window_span(inner.first, s.stride_w, s.pad_w, s.kw, s.w);
    const T divisor = T(avg_divisor(s, rows, cols));
    for (int64_t ow = inner.first; ow < inner.end; ++ow) share[ow] = dy_row[ow] / divisor;
    for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
      T* dx_row = dx_plane + ih * s.w;
      for (int64_t j = 0; j < s.kw; ++j) {
        const int64_t tap = j - s.pad_w;
        for (int64_t ow = inner.first; ow < inner.end; ++ow) dx_row[ow * sw + tap] += share[ow];
      }
    }
  }
  auto edge_column = [&](int64_t ow) {
    const Span cols = window_span(ow, s.stride_w, s.pad_w, s.kw, s.w);
    const T part = dy_row[ow] / T(avg_divisor(s, rows, cols));
    for (int64_t ih = rows.begin; ih < rows.end; ++ih)
      for (int64_t iw = cols.begin; iw < cols.end; ++iw) dx_plane[ih * s.w + iw] += part;
  };
  for (int64_t ow = 0; ow < inner.first; ++ow) edge_column(ow);
  for (int64_t ow = inner.end; ow < s.ow; ++ow) edge_column(ow);
}

template <class T>
void backward_nchw(const PoolPlan& plan, const T* dy, const int32_t* argmax, T* dx, Runner& r) {
  const PoolShape& s = plan.shape;
  const int64_t plane_in = s.h * s.w, plane_out = s.oh * s.ow;
  with_stride(s.stride_w, [&](auto sw) {
    for_unit_ranges(r, plan, [&](int64_t first, int64_t end, int thread) {
      // Avg: dy / divisor of the interior columns of one output row.
      T* share = s.mode == PoolMode::Avg ? scratch_of<T>(r, thread, 0, s.ow) : nullptr;
      for (int64_t plane = first; plane < end; ++plane) {
        T* dx_plane = dx + plane * plane_in;
        const T* dy_plane = dy + plane * plane_out;
        std::memset(dx_plane, 0, sizeof(T) * size_t(plane_in));
        if (s.mode == PoolMode::Avg) {
          for (int64_t oh = 0; oh < s.oh; ++oh) avg_backward_row_nchw(s, dy_plane + oh * s.ow, oh, sw, share, dx_plane);
          continue;
        }
        const int32_t* index_plane = argmax + plane * plane_out;
        for (int64_t o = 0; o < plane_out; ++o) {
          const int64_t index = index_plane[o];
          if (index < 0 || index >= plane_in) throw_bad_argmax(index, plane_in);
          dx_plane[index] += dy_plane[o];
        }
      }
    });
  });
}

template <class T>
void backward_nhwc(const PoolPlan& plan, const T* dy, const int32_t* argmax, T* dx, Runner& r) {
  const PoolShape& s = plan.shape;
  const int64_t plane_in = s.h * s.w, plane_out = s.oh * s.ow;
  const int64_t blocks = plan.channel_blocks, block = plan.channel_block;
  for_unit_ranges(r, plan, [&](int64_t first, int64_t end, int thread) {
    // Avg: dy / divisor for one output pixel, computed once and added to every window element.
    T* share = s.mode == PoolMode::Avg ? scratch_of<T>(r, thread, 0, block) : nullptr;
    for (int64_t u = first; u < end; ++u) {  // u = (image, channel block)
      const int64_t image = u / blocks, c0 = (u % blocks) * block;
      const int64_t cn = std::min(block, s.c - c0);
      T* dx_image = dx + image * plane_in * s.c;
      const T* dy_image = dy + image * plane_out * s.c;
      if (cn == s.c)
        std::memset(dx_image, 0, sizeof(T) * size_t(plane_in * s.c));
      else
        for (int64_t p = 0; p < plane_in; ++p) std::memset(dx_image + p * s.c + c0, 0, sizeof(T) * size_t(cn));
      if (s.mode == PoolMode::Max) {
        const int32_t* index_image = argmax + image * plane_out * s.c;
        for (int64_t o = 0; o < plane_out; ++o) {
          const int32_t* index_pixel = index_image + o * s.c + c0;
          const T* dy_pixel = dy_image + o * s.c + c0;
          for (int64_t ch = 0; ch < cn; ++ch) {
            const int64_t index = index_pixel[ch];
            if (index < 0 || index >= plane_in) throw_bad_argmax(index, plane_in);
            dx_image[index * s.c + c0 + ch] += dy_pixel[ch];
          }
        }
        continue;
      }
      for (int64_t oh = 0; oh < s.oh; ++oh) {
        const Span rows = window_span(oh, s.stride_h, s.pad_h, s.kh, s.h);
        for (int64_t ow = 0; ow < s.ow; ++ow) {
          const Span cols = window_span(ow, s.stride_w, s.pad_w, s.kw, s.w);
          const T divisor = T(avg_divisor(s, rows, cols));
          const T* dy_pixel = dy_image + (oh * s.ow + ow) * s.c + c0;
          for (int64_t ch = 0; ch < cn; ++ch) share[ch] = dy_pixel[ch] / divisor;
          for (int64_t ih = rows.begin; ih < rows.end; ++ih)
            for (int64_t iw = cols.begin; iw < cols.end; ++iw) {
              T* __restrict dx_pixel = dx_image + (ih * s.w + iw) * s.c + c0;
              for (int64_t ch = 0; ch < cn; ++ch) dx_pixel[ch] += share[ch];
            }
        }
      }
    }
  });
}

}  // namespace pool_detail
}  // namespace CONVKIT_ISA
}  // namespace convkit
