// The depthwise kernels for NHWC with one output channel per input channel (MobileNet's layers),
// register-blocked over channels and pixels; conv/depthwise.hpp drives them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "common.hpp"
#include "conv/accumulate.hpp"
#include "conv/geometry.hpp"
#include "gemm/blocking.hpp"
#include "isa/config.hpp"
#include "simd/simd.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// For each kernel column kw, the output columns [lo, hi) whose input column is inside the
// image (they do not depend on the output row). KW is small; columns past kMaxKw fall back
// to computing the range in place.
struct ColumnRanges {
  static constexpr int64_t kMaxKw = 32;
  int64_t lo[kMaxKw], hi[kMaxKw];
  const ConvShape& s;
  explicit ColumnRanges(const ConvShape& shape) : s(shape) {
    for (int64_t kw = 0; kw < std::min(s.kw, kMaxKw); ++kw)
      valid_run(kw * s.dilation_w - s.pad_left, s.stride_w, s.ow, s.w, lo[kw], hi[kw]);
  }
  void get(int64_t kw, int64_t& l, int64_t& h) const {
    if (kw < kMaxKw) {
      l = lo[kw], h = hi[kw];
    } else {
      valid_run(kw * s.dilation_w - s.pad_left, s.stride_w, s.ow, s.w, l, h);
    }
  }
};

// ---- NHWC with one output channel per input channel (multiplier 1), the MobileNet case.
// Per output pixel, a few channel vectors stay in registers over every tap: one load of the
// input and one of the weights per FMA, one store per output vector. Pixels whose taps all land
// inside the image skip the bounds checks. dx for stride 1 is the same kernel run over dy with
// the kernel flipped (the geometry of conv/geometry.hpp's backward_input_geometry).

constexpr int64_t kDepthwiseVectors = 4;

// Output pixel (oh, ow), channels [c, c + CV * W), of image x_img; taps kh in [kh_begin, kh_end).
template <class T, int64_t W, int64_t CV, bool kEdge>
inline void depthwise_nhwc_pixel(const DirectGeometry& d, const T* x_img, const T* w, const T* b, T* y_row, int64_t oh,
                                 int64_t ow, int64_t kh_begin, int64_t kh_end, int64_t c) {
  using V = Lanes<T, W>;
  V acc[CV];
  for (int64_t v = 0; v < CV; ++v) acc[v] = b ? load_lanes<T, W>(b + c + v * W) : V{};
  for (int64_t kh = kh_begin; kh < kh_end; ++kh) {
    const T* x_row = x_img + (oh * d.stride_h - d.pad_top + kh * d.dilation_h) * d.w * d.cin + c;
    const T* w_row = w + kh * d.kw * d.cin + c;
    for (int64_t kw = 0; kw < d.kw; ++kw) {
      const int64_t iw = ow * d.stride_w - d.pad_left + kw * d.dilation_w;
      if (kEdge && (iw < 0 || iw >= d.w)) continue;
      const T* xp = x_row + iw * d.cin;
      const T* wp = w_row + kw * d.cin;
      for (int64_t v = 0; v < CV; ++v)
        acc[v] = fmadd(load_lanes<T, W>(xp + v * W), load_lanes<T, W>(wp + v * W), acc[v]);
    }
  }
  for (int64_t v = 0; v < CV; ++v) store_lanes<T, W>(y_row + ow * d.cout + c + v * W, acc[v]);
}

template <class T, bool kEdge>
inline void depthwise_nhwc_channels(const DirectGeometry& d, const T* x_img, const T* w, const T* b, T* y_row,
                                    int64_t oh, int64_t ow, int64_t kh_begin, int64_t kh_end) {
  constexpr int64_t L = kLanes<T>;
  int64_t c = 0;
  for (; c + kDepthwiseVectors * L <= d.cout; c += kDepthwiseVectors * L)
    depthwise_nhwc_pixel<T, L, kDepthwiseVectors, kEdge>(d, x_img, w, b, y_row, oh, ow, kh_begin, kh_end, c);
  for (; c + L <= d.cout; c += L)
    depthwise_nhwc_pixel<T, L, 1, kEdge>(d, x_img, w, b, y_row, oh, ow, kh_begin, kh_end, c);
  for (; c < d.cout; ++c) depthwise_nhwc_pixel<T, 1, 1, kEdge>(d, x_img, w, b, y_row, oh, ow, kh_begin, kh_end, c);
}

// An interior pixel (every tap inside the image) with the kernel size known at compile time: the
// taps unroll into straight-line loads and FMAs, without the run-time kernel's loop and address
// arithmetic, which makes the interior pixels left over after the pixel blocks markedly cheaper
// (see docs/decisions.md).
template <class T, int64_t W, int64_t CV, int KH, int KW>
inline void depthwise_nhwc_pixel_fixed(const DirectGeometry& d, const T* x_first, const T* w, const T* b, T* out) {
  using V = Lanes<T, W>;
  const int64_t row_step = d.dilation_h * d.w * d.cin, column_step = d.dilation_w * d.cin;
  V acc[CV];
  for (int64_t v = 0; v < CV; ++v) acc[v] = b ? load_lanes<T, W>(b + v * W) : V{};
#pragma GCC unroll 8
  for (int kh = 0; kh < KH; ++kh) {
#pragma GCC unroll 8
    for (int kw = 0; kw < KW; ++kw) {
      const T* xp = x_first + kh * row_step + kw * column_step;
      const T* wp = w + (kh * KW + kw) * d.cin;
#pragma GCC unroll 8
      for (int64_t v = 0; v < CV; ++v)
        acc[v] = fmadd(load_lanes<T, W>(xp + v * W), load_lanes<T, W>(wp + v * W), acc[v]);
    }
  }
  for (int64_t v = 0; v < CV; ++v) store_lanes<T, W>(out + v * W, acc[v]);
}

// P consecutive interior pixels of one output row, stride 1 and no dilation: pixel p's tap kw
// reads input column p + kw, so each input vector loaded serves up to KW pixels and each weight
// vector P pixels. The one-pixel kernel needs two vector loads per FMA and is bound by its
// loads; here it is (P + KW - 1 + KW) / (P * KW) per FMA (docs/decisions.md). Each pixel's taps
// are added in the same order as in the one-pixel kernel, so the bits are the same.
template <class T, int64_t W, int64_t CV, int KH, int KW, int P>
inline void depthwise_nhwc_pixels_fixed(const DirectGeometry& d, const T* x_first, const T* w, const T* b, T* out) {
  using V = Lanes<T, W>;
  V acc[P][CV];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p)
    for (int64_t v = 0; v < CV; ++v) acc[p][v] = b ? load_lanes<T, W>(b + v * W) : V{};
#pragma GCC unroll 8
  for (int kh = 0; kh < KH; ++kh) {
    const T* x_row = x_first + kh * d.w * d.cin;
    V weight[KW][CV];
#pragma GCC unroll 8
    for (int kw = 0; kw < KW; ++kw)
      for (int64_t v = 0; v < CV; ++v) weight[kw][v] = load_lanes<T, W>(w + (kh * KW + kw) * d.cin + v * W);
#pragma GCC unroll 16
    for (int column = 0; column < P + KW - 1; ++column) {
      V input[CV];
      for (int64_t v = 0; v < CV; ++v) input[v] = load_lanes<T, W>(x_row + column * d.cin + v * W);
#pragma GCC unroll 8
      for (int kw = KW - 1; kw >= 0; --kw) {
        const int p = column - kw;
        if (p < 0 || p >= P) continue;
        for (int64_t v = 0; v < CV; ++v) acc[p][v] = fmadd(input[v], weight[kw][v], acc[p][v]);
      }
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p)
    for (int64_t v = 0; v < CV; ++v) store_lanes<T, W>(out + p * d.cout + v * W, acc[p][v]);
}

// Pixels per block and channel vectors per pixel of the blocked kernel (isa/<isa>.hpp): P * CV accumulators,
// KW * CV weights and CV inputs within the register file. The 3-tap dw kernel below uses the
// same channel vectors (KW * CV accumulators, CV of dY, CV of x).

// All channels from c_begin of an interior pixel (oh, ow) with a KH x KW kernel known at compile time.
template <class T, int KH, int KW>
inline void depthwise_nhwc_channels_fixed(const DirectGeometry& d, const T* x_img, const T* w, const T* b, T* y_row,
                                          int64_t oh, int64_t ow, int64_t c_begin = 0) {
  constexpr int64_t L = kLanes<T>;
  const T* x_first = x_img + ((oh * d.stride_h - d.pad_top) * d.w + ow * d.stride_w - d.pad_left) * d.cin;
  T* out = y_row + ow * d.cout;
  int64_t c = c_begin;
  for (; c + kDepthwiseVectors * L <= d.cout; c += kDepthwiseVectors * L)
    depthwise_nhwc_pixel_fixed<T, L, kDepthwiseVectors, KH, KW>(d, x_first + c, w + c, b ? b + c : nullptr, out + c);
  for (; c + L <= d.cout; c += L)
    depthwise_nhwc_pixel_fixed<T, L, 1, KH, KW>(d, x_first + c, w + c, b ? b + c : nullptr, out + c);
  for (; c < d.cout; ++c)
    depthwise_nhwc_pixel_fixed<T, 1, 1, KH, KW>(d, x_first + c, w + c, b ? b + c : nullptr, out + c);
}

// Every output row of a multiplier-1 NHWC depthwise convolution; w is [KH][KW][C].
template <class T>
void depthwise_nhwc(const DirectGeometry& d, const T* x, const T* w, const T* b, T* y, Runner& r) {
  // Columns whose first and last taps are inside the image have all their taps inside.
  int64_t first_lo, first_hi, last_lo, last_hi;
  valid_run(-d.pad_left, d.stride_w, d.ow, d.w, first_lo, first_hi);
  valid_run((d.kw - 1) * d.dilation_w - d.pad_left, d.stride_w, d.ow, d.w, last_lo, last_hi);
  const int64_t inner_lo = std::max(first_lo, last_lo), inner_hi = std::max(inner_lo, std::min(first_hi, last_hi));
  parallel_for(r, d.n * d.oh, [&](int64_t row, int) {
    const int64_t n = row / d.oh, oh = row % d.oh;
    int64_t kh_begin, kh_end;
    valid_run(oh * d.stride_h - d.pad_top, d.dilation_h, d.kh, d.h, kh_begin, kh_end);
    const T* x_img = x + n * d.h * d.w * d.cin;
    T* y_row = y + row * d.ow * d.cout;
    const bool all_rows = kh_begin == 0 && kh_end == d.kh;
    // Blocks of interior pixels for a 3x3 kernel with stride 1 (MobileNet's depthwise layers, and
    // dx of every stride-1 3x3 depthwise layer), in whole channel blocks.
    const bool blocked =
        all_rows && d.kh == 3 && d.kw == 3 && d.stride_w == 1 && d.dilation_w == 1 && d.dilation_h == 1;
    constexpr int64_t P = kDepthwisePixels, CV = kDepthwisePixelVectors, L = kLanes<T>;
    const int64_t blocked_channels = d.cout / (CV * L) * (CV * L);
    int64_t block_end = inner_lo;
    if (blocked && blocked_channels > 0) {
      for (; block_end + P <= inner_hi; block_end += P) {
        const T* x_first = x_img + ((oh - d.pad_top) * d.w + block_end - d.pad_left) * d.cin;
        T* out = y_row + block_end * d.cout;
        for (int64_t c = 0; c < blocked_channels; c += CV * L)
          depthwise_nhwc_pixels_fixed<T, L, CV, 3, 3, P>(d, x_first + c, w + c, b ? b + c : nullptr, out + c);
        if (blocked_channels < d.cout)
          for (int64_t ow = block_end; ow < block_end + P; ++ow)
            depthwise_nhwc_channels_fixed<T, 3, 3>(d, x_img, w, b, y_row, oh, ow, blocked_channels);
      }
    }
    for (int64_t ow = 0; ow < d.ow; ++ow) {
      if (ow >= inner_lo && ow < block_end) continue;  // done in blocks above
      if (ow >= inner_lo && ow < inner_hi) {
        if (all_rows && d.kh == 3 && d.kw == 3)
          depthwise_nhwc_channels_fixed<T, 3, 3>(d, x_img, w, b, y_row, oh, ow);
        else if (all_rows && d.kh == 5 && d.kw == 5)
          depthwise_nhwc_channels_fixed<T, 5, 5>(d, x_img, w, b, y_row, oh, ow);
        else
          depthwise_nhwc_channels<T, false>(d, x_img, w, b, y_row, oh, ow, kh_begin, kh_end);
      } else {
        depthwise_nhwc_channels<T, true>(d, x_img, w, b, y_row, oh, ow, kh_begin, kh_end);
      }
    }
  });
}

// dw[tap][c] += sum over the valid columns of the row of x(tap's input) * dy, channels
// [c, c + CV * W) in registers; the row's dy and x stay in L1/L2 across the taps.
template <class T, int64_t W, int64_t CV>
inline void depthwise_nhwc_filter_row(const ConvShape& s, const ColumnRanges& columns, const T* x_img, const T* dy_row,
                                      T* dw, int64_t oh, int64_t kh_begin, int64_t kh_end, int64_t c) {
  using V = Lanes<T, W>;
  for (int64_t kh = kh_begin; kh < kh_end; ++kh) {
    const T* x_row = x_img + (oh * s.stride_h - s.pad_top + kh * s.dilation_h) * s.w * s.c + c;
    for (int64_t kw = 0; kw < s.kw; ++kw) {
      int64_t lo, hi;
      columns.get(kw, lo, hi);
      V acc[CV] = {};
      const T* xp = x_row + (lo * s.stride_w - s.pad_left + kw * s.dilation_w) * s.c;
      const T* gp = dy_row + lo * s.cout + c;
      for (int64_t ow = lo; ow < hi; ++ow, xp += s.stride_w * s.c, gp += s.cout)
        for (int64_t v = 0; v < CV; ++v)
          acc[v] = fmadd(load_lanes<T, W>(xp + v * W), load_lanes<T, W>(gp + v * W), acc[v]);
      T* dst = dw + (kh * s.kw + kw) * s.cout + c;
      for (int64_t v = 0; v < CV; ++v) store_lanes<T, W>(dst + v * W, load_lanes<T, W>(dst + v * W) + acc[v]);
    }
  }
}

// The same for a kernel KW wide known at compile time, all KW taps of a kernel row at once: each
// dY vector loaded serves KW FMAs (the one-tap kernel loads x and dY for every FMA). Each tap
// still sums its columns in ascending order into its own accumulator, so the bits are the same.
template <class T, int64_t W, int64_t CV, int KW>
inline void depthwise_nhwc_filter_row_taps(const ConvShape& s, const ColumnRanges& columns, const T* x_img,
                                           const T* dy_row, T* dw, int64_t oh, int64_t kh_begin, int64_t kh_end,
                                           int64_t c) {
  using V = Lanes<T, W>;
  int64_t lo[KW], hi[KW];
  for (int kw = 0; kw < KW; ++kw) columns.get(kw, lo[kw], hi[kw]);
  int64_t first = lo[0], last = hi[0], inner_lo = lo[0], inner_hi = hi[0];
  for (int kw = 1; kw < KW; ++kw) {
    first = std::min(first, lo[kw]), last = std::max(last, hi[kw]);
    inner_lo = std::max(inner_lo, lo[kw]), inner_hi = std::min(inner_hi, hi[kw]);
  }
  inner_lo = std::min(std::max(inner_lo, first), last);
  inner_hi = std::max(inner_hi, inner_lo);
  const int64_t column_step = s.stride_w * s.c;
  for (int64_t kh = kh_begin; kh < kh_end; ++kh) {
    const T* x_row = x_img + (oh * s.stride_h - s.pad_top + kh * s.dilation_h) * s.w * s.c + c;
    V acc[KW][CV] = {};
    // Columns [first, last) in order; all taps are inside the image on [inner_lo, inner_hi).
    auto columns_from = [&](int64_t begin, int64_t end, auto checked) {
      for (int64_t ow = begin; ow < end; ++ow) {
        const T* gp = dy_row + ow * s.cout + c;
        V g[CV];
        for (int64_t v = 0; v < CV; ++v) g[v] = load_lanes<T, W>(gp + v * W);
        const T* xp = x_row + ow * column_step - s.pad_left * s.c;
#pragma GCC unroll 8
        for (int kw = 0; kw < KW; ++kw) {
          if (decltype(checked)::value && (ow < lo[kw] || ow >= hi[kw])) continue;
          const T* xk = xp + kw * s.dilation_w * s.c;
          for (int64_t v = 0; v < CV; ++v) acc[kw][v] = fmadd(load_lanes<T, W>(xk + v * W), g[v], acc[kw][v]);
        }
      }
    };
    columns_from(first, inner_lo, std::true_type());
    columns_from(inner_lo, inner_hi, std::false_type());
    columns_from(inner_hi, last, std::true_type());
    for (int kw = 0; kw < KW; ++kw) {
      T* dst = dw + (kh * s.kw + kw) * s.cout + c;
      for (int64_t v = 0; v < CV; ++v) store_lanes<T, W>(dst + v * W, load_lanes<T, W>(dst + v * W) + acc[kw][v]);
    }
  }
}

template <class T>
void depthwise_nhwc_backward_filter(const ConvShape& s, const T* dy, const T* x, Partials<T>& partials, bool bias,
                                    Runner& r) {
  constexpr int64_t L = kLanes<T>;
  const ColumnRanges columns(s);
  parallel_for(r, s.n * s.oh, [&](int64_t row, int thread) {
    const int64_t n = row / s.oh, oh = row % s.oh;
    int64_t kh_begin, kh_end;
    valid_run(oh * s.stride_h - s.pad_top, s.dilation_h, s.kh, s.h, kh_begin, kh_end);
    const T* x_img = x + n * s.h * s.w * s.c;
    const T* dy_row = dy + row * s.ow * s.cout;
    T* dw = partials.weights(thread);
    int64_t c = 0;
    if (s.kw == 3)
      for (; c + kDepthwisePixelVectors * L <= s.c; c += kDepthwisePixelVectors * L)
        depthwise_nhwc_filter_row_taps<T, L, kDepthwisePixelVectors, 3>(s, columns, x_img, dy_row, dw, oh, kh_begin,
                                                                        kh_end, c);
    for (; c + kDepthwiseVectors * L <= s.c; c += kDepthwiseVectors * L)
      depthwise_nhwc_filter_row<T, L, kDepthwiseVectors>(s, columns, x_img, dy_row, dw, oh, kh_begin, kh_end, c);
    for (; c + L <= s.c; c += L)
      depthwise_nhwc_filter_row<T, L, 1>(s, columns, x_img, dy_row, dw, oh, kh_begin, kh_end, c);
    for (; c < s.c; ++c) depthwise_nhwc_filter_row<T, 1, 1>(s, columns, x_img, dy_row, dw, oh, kh_begin, kh_end, c);
    if (bias) {
      T* db = partials.bias(thread);
      for (int64_t ow = 0; ow < s.ow; ++ow)
        for (int64_t o = 0; o < s.cout; ++o) db[o] += dy_row[ow * s.cout + o];
    }
  });
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
