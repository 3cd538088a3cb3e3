// Convolution forward and backward as GEMMs over im2col tiles (see gemm/blocking.hpp for the packed
// formats). Each layout uses the im2col natural to it:
// - NHWC: rows are output pixels (n, oh, ow), columns kidx = (kh*KW + kw)*Cg + ci, so a window
//   position reads Cg contiguous channels; weights HWIO are the [K x Cout] matrix as stored.
// - NCHW: rows kidx = (ci*KH + kh)*KW + kw, columns the output pixels of one image, so a row
//   reads along an input row; weights OIHW are the [Cout x K] matrix as stored.
// im2col is produced tile by tile straight into GEMM panels (or into one bounded per-thread
// tile for the weight gradient), never for a whole batch; the NHWC forward mostly skips it and
// reads the micro-kernel's rows from a padded copy of the input rows (see conv/nhwc_band.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "common.hpp"
#include "conv/geometry.hpp"
#include "gemm/blocking.hpp"
#include "isa/config.hpp"
#include "simd/simd.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// Walks output pixels p0, p0+1, ... as (n, oh, ow) without dividing per pixel.
struct PixelCursor {
  int64_t n, oh, ow;
  const ConvShape& s;
  PixelCursor(const ConvShape& shape, int64_t p) : s(shape) {
    const int64_t ohw = s.oh * s.ow;
    n = p / ohw;
    oh = p % ohw / s.ow;
    ow = p % s.ow;
  }
  void next() {
    if (++ow == s.ow) {
      ow = 0;
      if (++oh == s.oh) oh = 0, ++n;
    }
  }
};

// NHWC im2col: dest[(k-k0)*ld_k + i*ld_i] = x(pixel p0+i, kidx k) for i < rows, k0 <= k < k0+kc.
template <class T>
void im2col_nhwc(T* dest, int64_t ld_k, int64_t ld_i, const T* x, const ConvShape& s, int64_t g, int64_t p0,
                 int64_t rows, int64_t k0, int64_t kc) {
  const int64_t cg = s.cin_per_group();
  const int64_t window0 = k0 / cg, ci0 = k0 % cg, kh0 = window0 / s.kw, kw0 = window0 % s.kw;
  // When the block holds whole windows and a window row is contiguous in x, a window inside the
  // image is KH runs of KW*C elements: the fast path for small-channel layers (the stem's K is
  // 7*7*3 = 147 in 7 runs of 21).
  const bool whole_windows = ld_k == 1 && k0 == 0 && kc == s.kh * s.kw * cg && s.dilation_w == 1 && cg == s.c;
  const int64_t window_row = s.kw * s.c, window_height = (s.kh - 1) * s.dilation_h + 1;
  PixelCursor px(s, p0);
  for (int64_t i = 0; i < rows; ++i, px.next()) {
    const int64_t ih0 = px.oh * s.stride_h - s.pad_top, iw0 = px.ow * s.stride_w - s.pad_left;
    const T* image = x + px.n * s.h * s.w * s.c + g * cg;
    if (whole_windows && ih0 >= 0 && ih0 + window_height <= s.h && iw0 >= 0 && iw0 + s.kw <= s.w) {
      const T* src = image + (ih0 * s.w + iw0) * s.c;
      T* d = dest + i * ld_i;
      for (int64_t kh = 0; kh < s.kh; ++kh)
        copy_run(d + kh * window_row, src + kh * s.dilation_h * s.w * s.c, window_row);
      continue;
    }
    int64_t ci = ci0, kh = kh0, kw = kw0;
    for (int64_t k = k0; k < k0 + kc;) {
      const int64_t ih = ih0 + kh * s.dilation_h, iw = iw0 + kw * s.dilation_w;
      const bool row_inside = ih >= 0 && ih < s.h;
      // Without dilation or groups, the rest of a window row is one contiguous run (as long
      // as it stays inside the image): copy it as one segment instead of Cg-sized pieces.
      int64_t columns = 1;
      if (s.dilation_w == 1 && cg == s.c && row_inside && iw >= 0)
        columns = std::max<int64_t>(1, std::min(s.kw - kw, s.w - iw));
      const int64_t len = std::min(columns * cg - ci, k0 + kc - k);
      T* d = dest + (k - k0) * ld_k + i * ld_i;
      if (row_inside && iw >= 0 && iw < s.w) {
        const T* src = image + (ih * s.w + iw) * s.c + ci;
        if (ld_k == 1)
          copy_run(d, src, len);
        else
          for (int64_t t = 0; t < len; ++t) d[t * ld_k] = src[t];
      } else {
        for (int64_t t = 0; t < len; ++t) d[t * ld_k] = T(0);
      }
      k += len;
      ci += len;
      if (ci >= cg) {
        kw += ci / cg;
        ci %= cg;
        if (kw >= s.kw) kw -= s.kw, ++kh;
      }
    }
  }
}

// The im2col columns k0 .. k0+kc-1 of pixels p0 .. p0+rows-1 as GEMM B panels (NR columns
// each, row i of a panel at i*NR), as pack_b_block would lay out the im2col tile. Needs Cg, k0
// and kc to be multiples of NR, so that each panel is NR channels of one tap; it is filled pixel
// by pixel, one panel at a time (the panels lie NR*rows elements apart, so writing them all per
// pixel thrashes L1's sets).
template <class T>
void im2col_nhwc_b_panels(T* dest, const T* x, const ConvShape& s, int64_t g, int64_t p0, int64_t rows, int64_t k0,
                          int64_t kc) {
  constexpr int NR = Blocking<T>::NR;
  const int64_t cg = s.cin_per_group();
  for (int64_t j = 0; j < kc; j += NR) {
    const int64_t tap = (k0 + j) / cg, ci = (k0 + j) % cg;
    const int64_t dh = tap / s.kw * s.dilation_h - s.pad_top, dw = tap % s.kw * s.dilation_w - s.pad_left;
    T* d = dest + j * rows;
    PixelCursor px(s, p0);
    for (int64_t i = 0; i < rows; ++i, px.next(), d += NR) {
      const int64_t ih = px.oh * s.stride_h + dh, iw = px.ow * s.stride_w + dw;
      if (ih >= 0 && ih < s.h && iw >= 0 && iw < s.w)
        std::memcpy(d, x + ((px.n * s.h + ih) * s.w + iw) * s.c + g * cg + ci, sizeof(T) * NR);
      else
        std::memset(d, 0, sizeof(T) * NR);
    }
  }
}

// Visits the output pixels p0 .. p0+cols-1 of one image as runs along an output row:
// visit(j, oh, ow, len) for the run starting at column offset j.
template <class F>
void for_each_row_run(const ConvShape& s, int64_t p0, int64_t cols, F&& visit) {
  int64_t oh = p0 / s.ow, ow = p0 % s.ow;
  for (int64_t j = 0; j < cols; ++oh, ow = 0) {
    const int64_t len = std::min(s.ow - ow, cols - j);
    visit(j, oh, ow, len);
    j += len;
  }
}

// NCHW im2col of one image and group (xg points at its first channel), written as panels of
// `width` columns placed `stride` elements apart: x(kidx k, pixel p0+j) goes to
// dest[(j / width) * stride + (k - k0) * width + j % width] for j < cols, and the last panel's
// columns past `cols` are zero. GEMM B panels use width NR and stride NR*kc; a plain
// [kc x width] tile is one panel.
template <class T>
void im2col_nchw(T* dest, int64_t width, int64_t stride, const T* xg, const ConvShape& s, int64_t k0, int64_t kc,
                 int64_t p0, int64_t cols) {
  const int64_t khw = s.kh * s.kw;
  // Narrow outputs make row runs too short to pay for themselves: gather per element from
  // precomputed window origins instead.
  constexpr int64_t kNarrowOutput = 16, kChunk = 64;
  // The gather's lane indices (int32 for float) must hold every index of an input plane.
  if (s.ow < kNarrowOutput && s.h * s.w <= std::numeric_limits<LaneIndex<T>>::max()) {
    // Chunks end at panel boundaries, so a chunk's columns are contiguous in dest.
    int64_t ih_origin[kChunk], iw_origin[kChunk];
    LaneIndex<T> index[kChunk], inside[kChunk];
    for (int64_t j0 = 0; j0 < cols;) {
      const int64_t jn = std::min({kChunk, cols - j0, width - j0 % width});
      const int64_t base = j0 / width * stride + j0 % width;
      for_each_row_run(s, p0 + j0, jn, [&](int64_t j, int64_t oh, int64_t ow, int64_t len) {
        for (int64_t t = 0; t < len; ++t) {
          ih_origin[j + t] = oh * s.stride_h - s.pad_top;
          iw_origin[j + t] = (ow + t) * s.stride_w - s.pad_left;
        }
      });
      // Rows k = ci*KH*KW + tap share their window geometry across channels: compute each
      // tap's input indices once (0 with inside = 0 in the padding, so that every load is in
      // bounds and the gather has no branch), then gather every channel's row.
      for (int64_t tap = 0; tap < khw; ++tap) {
        const int64_t ci_begin = std::max<int64_t>(0, ceil_div(k0 - tap, khw));
        const int64_t ci_end = k0 + kc - 1 - tap < 0 ? 0 : (k0 + kc - 1 - tap) / khw + 1;
        if (ci_begin >= ci_end) continue;
        const int64_t dh = tap / s.kw * s.dilation_h, dw = tap % s.kw * s.dilation_w;
        for (int64_t j = 0; j < jn; ++j) {
          const int64_t ih = ih_origin[j] + dh, iw = iw_origin[j] + dw;
          const bool valid = uint64_t(ih) < uint64_t(s.h) && uint64_t(iw) < uint64_t(s.w);
          index[j] = LaneIndex<T>(valid ? ih * s.w + iw : 0);
          inside[j] = valid;
        }
        for (int64_t ci = ci_begin; ci < ci_end; ++ci) {
          const T* plane = xg + ci * s.h * s.w;
          gather_row(dest + (ci * khw + tap - k0) * width + base, plane, index, inside, jn);
        }
      }
      j0 += jn;
    }
  } else {
    int64_t ci = k0 / khw, kh = k0 % khw / s.kw, kw = k0 % s.kw;
    for (int64_t k = k0; k < k0 + kc; ++k) {
      const T* plane = xg + ci * s.h * s.w;
      T* d = dest + (k - k0) * width;
      for_each_row_run(s, p0, cols, [&](int64_t j, int64_t oh, int64_t ow, int64_t len) {
        const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
        const int64_t iw0 = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
        int64_t lo = 0, hi = 0;
        if (ih >= 0 && ih < s.h) valid_run(iw0, s.stride_w, len, s.w, lo, hi);
        const T* row = plane + ih * s.w;  // only read for t in [lo, hi), where ih is valid
        // Copy the run in pieces that end at panel boundaries.
        for (int64_t t = 0; t < len;) {
          const int64_t col = j + t, in_panel = col % width;
          const int64_t piece = std::min(len - t, width - in_panel);
          T* out = d + col / width * stride + in_panel - t;  // indexed by t
          const int64_t copy_begin = std::max(t, lo), copy_end = std::max(copy_begin, std::min(t + piece, hi));
          for (int64_t u = t; u < copy_begin; ++u) out[u] = T(0);
          if (s.stride_w == 1) {
            const T* src = row + iw0;
            for (int64_t u = copy_begin; u < copy_end; ++u) out[u] = src[u];
          } else {
            for (int64_t u = copy_begin; u < copy_end; ++u) out[u] = row[iw0 + u * s.stride_w];
          }
          for (int64_t u = copy_end; u < t + piece; ++u) out[u] = T(0);
          t += piece;
        }
      });
      if (++kw == s.kw) {
        kw = 0;
        if (++kh == s.kh) kh = 0, ++ci;
      }
    }
  }
  const int64_t tail = round_up(cols, width) - cols;
  if (tail > 0) {
    T* last = dest + cols / width * stride + cols % width;
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t j = 0; j < tail; ++j) last[k * width + j] = T(0);
  }
}

// NHWC col2im: adds dcol[i*K + kidx] (rows = pixels p0+i) into dx.
template <class T>
void col2im_nhwc(T* dx, const T* dcol, const ConvShape& s, int64_t g, int64_t p0, int64_t rows) {
  const int64_t cg = s.cin_per_group(), K = s.kh * s.kw * cg;
  PixelCursor px(s, p0);
  for (int64_t i = 0; i < rows; ++i, px.next()) {
    const int64_t ih0 = px.oh * s.stride_h - s.pad_top, iw0 = px.ow * s.stride_w - s.pad_left;
    T* image = dx + px.n * s.h * s.w * s.c + g * cg;
    const T* src = dcol + i * K;
    for (int64_t kh = 0; kh < s.kh; ++kh) {
      const int64_t ih = ih0 + kh * s.dilation_h;
      if (ih < 0 || ih >= s.h) continue;
      for (int64_t kw = 0; kw < s.kw; ++kw) {
        const int64_t iw = iw0 + kw * s.dilation_w;
        if (iw < 0 || iw >= s.w) continue;
        T* dst = image + (ih * s.w + iw) * s.c;
        const T* from = src + (kh * s.kw + kw) * cg;
        for (int64_t ci = 0; ci < cg; ++ci) dst[ci] += from[ci];
      }
    }
  }
}

// NCHW col2im of one image and group: adds dcol[kidx*ld + j] (columns = pixels p0+j) into dxg.
template <class T>
void col2im_nchw(T* dxg, const T* dcol, int64_t ld, const ConvShape& s, int64_t p0, int64_t cols) {
  const int64_t K = s.cin_per_group() * s.kh * s.kw;
  int64_t ci = 0, kh = 0, kw = 0;
  for (int64_t k = 0; k < K; ++k) {
    T* plane = dxg + ci * s.h * s.w;
    const T* src = dcol + k * ld;
    for_each_row_run(s, p0, cols, [&](int64_t j, int64_t oh, int64_t ow, int64_t len) {
      const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
      if (ih < 0 || ih >= s.h) return;
      const int64_t iw0 = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      int64_t lo = 0, hi = 0;
      valid_run(iw0, s.stride_w, len, s.w, lo, hi);
      if (hi <= lo) return;
      T* first = plane + ih * s.w + iw0 + lo * s.stride_w;
      const T* from = src + j + lo;
      for (int64_t t = 0; t < hi - lo; ++t) first[t * s.stride_w] += from[t];
    });
    if (++kw == s.kw) {
      kw = 0;
      if (++kh == s.kh) kh = 0, ++ci;
    }
  }
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
