// Direct convolution for Cin/groups == 1: depthwise (groups == C) and single-channel inputs
// (C == 1) with more output channels than conv/direct.hpp takes (more than 16; LeNet's 1->6
// goes there). Output channel o reads input channel o / multiplier, multiplier = Cout / C.
// im2col + GEMM would pad every group (or the few output channels) to a full micro-tile with a
// K of only KH*KW; here each output element is a short dot product
// vectorised along the contiguous axis (channels in NHWC, a row in NCHW).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "common.hpp"
#include "conv/accumulate.hpp"
#include "conv/depthwise_nhwc.hpp"
#include "conv/geometry.hpp"
#include "gemm/blocking.hpp"
#include "isa/config.hpp"
#include "simd/simd.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// sum over t < n of a[t] * b[t * stride], in eight interleaved partial sums so the compiler can
// vectorise it (a fixed order: the same bits for the same inputs).
template <class T>
inline T strided_dot(const T* a, const T* b, int64_t stride, int64_t n) {
  T part[8] = {};
  int64_t t = 0;
  if (stride == 1) {
    for (; t + 8 <= n; t += 8)
      for (int u = 0; u < 8; ++u) part[u] += a[t + u] * b[t + u];
  } else {
    for (; t + 8 <= n; t += 8)
      for (int u = 0; u < 8; ++u) part[u] += a[t + u] * b[(t + u) * stride];
  }
  for (; t < n; ++t) part[0] += a[t] * b[t * stride];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

// dst[o] += src[o / m] * w[o] for o < cout.
template <class T>
inline void depthwise_axpy(T* dst, const T* src, const T* w, int64_t cout, int64_t m) {
  if (m == 1) {
    for (int64_t o = 0; o < cout; ++o) dst[o] += src[o] * w[o];
  } else {
    for (int64_t c = 0, o = 0; o < cout; ++c)
      for (int64_t j = 0; j < m; ++j, ++o) dst[o] += src[c] * w[o];
  }
}

template <class T>
void depthwise_forward(const ConvShape& s, const T* x, const T* w, const T* b, T* y, Runner& r) {
  const int64_t m = s.cout / s.c, khw = s.kh * s.kw;
  if (s.layout == Layout::NHWC && m == 1) {
    depthwise_nhwc(forward_geometry(s), x, w, b, y, r);
    return;
  }
  if (s.layout == Layout::NHWC) {
    parallel_for(r, s.n * s.oh, [&](int64_t row, int) {
      const int64_t n = row / s.oh, oh = row % s.oh;
      for (int64_t ow = 0; ow < s.ow; ++ow) {
        T* out = y + (row * s.ow + ow) * s.cout;
        for (int64_t o = 0; o < s.cout; ++o) out[o] = b ? b[o] : T(0);
        for (int64_t kh = 0; kh < s.kh; ++kh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.h) continue;
          for (int64_t kw = 0; kw < s.kw; ++kw) {
            const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (iw < 0 || iw >= s.w) continue;
            depthwise_axpy(out, x + ((n * s.h + ih) * s.w + iw) * s.c, w + (kh * s.kw + kw) * s.cout, s.cout, m);
          }
        }
      }
    });
    return;
  }
  const ColumnRanges columns(s);
  parallel_for(r, s.n * s.cout, [&](int64_t plane, int) {
    const int64_t n = plane / s.cout, o = plane % s.cout;
    const T* xc = x + (n * s.c + o / m) * s.h * s.w;
    const T* wo = w + o * khw;
    for (int64_t oh = 0; oh < s.oh; ++oh) {
      T* out = y + (plane * s.oh + oh) * s.ow;
      for (int64_t ow = 0; ow < s.ow; ++ow) out[ow] = b ? b[o] : T(0);
      for (int64_t kh = 0; kh < s.kh; ++kh) {
        const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
        if (ih < 0 || ih >= s.h) continue;
        for (int64_t kw = 0; kw < s.kw; ++kw) {
          const int64_t iw0 = kw * s.dilation_w - s.pad_left;
          int64_t lo, hi;
          columns.get(kw, lo, hi);
          if (hi <= lo) continue;
          const T wv = wo[kh * s.kw + kw];
          const T* in = xc + ih * s.w + iw0 + lo * s.stride_w;
          if (s.stride_w == 1)
            for (int64_t t = 0; t < hi - lo; ++t) out[lo + t] += wv * in[t];
          else
            for (int64_t t = 0; t < hi - lo; ++t) out[lo + t] += wv * in[t * s.stride_w];
        }
      }
    }
  });
}

// The depthwise dx: NHWC with one output channel per input and stride 1 runs the forward kernel
// on the flipped weights (shared); the other cases scatter or gather without scratch.
template <class T>
struct DepthwiseBackwardInputWorkspace {
  bool as_forward;
  int64_t flipped;
  explicit DepthwiseBackwardInputWorkspace(const ConvShape& s)
      : as_forward(s.layout == Layout::NHWC && s.cout == s.c && s.stride_h == 1 && s.stride_w == 1),
        flipped(as_forward ? saturating_product({s.kh * s.kw, s.c}) : 0) {}
  void add_to(WorkspaceTally& tally) const { tally.shared(kPackedWeights, elements_bytes<T>(flipped)); }
};

template <class T>
void depthwise_backward_input(const ConvShape& s, const T* dy, const T* w, T* dx, Runner& r) {
  const int64_t m = s.cout / s.c, khw = s.kh * s.kw;
  const DepthwiseBackwardInputWorkspace<T> ws(s);
  if (ws.as_forward) {
    T* flipped = scratch_of<T>(r, r.num_threads(), kPackedWeights, ws.flipped);
    for (int64_t tap = 0; tap < khw; ++tap)
      std::memcpy(flipped + tap * s.c, w + (khw - 1 - tap) * s.c, s.c * sizeof(T));
    depthwise_nhwc(backward_input_geometry(s), dy, flipped, static_cast<const T*>(nullptr), dx, r);
    return;
  }
  zero_fill(dx, s.x_size(), r);
  if (s.layout == Layout::NHWC) {
    for_each_band_two_phase(r, s, [&](int64_t n, int64_t oh_begin, int64_t oh_end, int) {
      for (int64_t oh = oh_begin; oh < oh_end; ++oh)
        for (int64_t ow = 0; ow < s.ow; ++ow) {
          const T* grad = dy + ((n * s.oh + oh) * s.ow + ow) * s.cout;
          for (int64_t kh = 0; kh < s.kh; ++kh) {
            const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
            if (ih < 0 || ih >= s.h) continue;
            for (int64_t kw = 0; kw < s.kw; ++kw) {
              const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
              if (iw < 0 || iw >= s.w) continue;
              T* dst = dx + ((n * s.h + ih) * s.w + iw) * s.c;
              const T* wk = w + (kh * s.kw + kw) * s.cout;
              if (m == 1) {
                for (int64_t c = 0; c < s.c; ++c) dst[c] += grad[c] * wk[c];
              } else {
                for (int64_t c = 0, o = 0; c < s.c; ++c)
                  for (int64_t j = 0; j < m; ++j, ++o) dst[c] += grad[o] * wk[o];
              }
            }
          }
        }
    });
    return;
  }
  // NCHW: one input plane per task gathers from its `m` output planes: no races.
  const ColumnRanges columns(s);
  parallel_for(r, s.n * s.c, [&](int64_t plane, int) {
    const int64_t n = plane / s.c, c = plane % s.c;
    T* dxc = dx + plane * s.h * s.w;
    for (int64_t o = c * m; o < (c + 1) * m; ++o) {
      const T* wo = w + o * khw;
      for (int64_t oh = 0; oh < s.oh; ++oh) {
        const T* grad = dy + ((n * s.cout + o) * s.oh + oh) * s.ow;
        for (int64_t kh = 0; kh < s.kh; ++kh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.h) continue;
          for (int64_t kw = 0; kw < s.kw; ++kw) {
            const int64_t iw0 = kw * s.dilation_w - s.pad_left;
            int64_t lo, hi;
            columns.get(kw, lo, hi);
            if (hi <= lo) continue;
            const T wv = wo[kh * s.kw + kw];
            T* dst = dxc + ih * s.w + iw0 + lo * s.stride_w;
            for (int64_t t = 0; t < hi - lo; ++t) dst[t * s.stride_w] += wv * grad[lo + t];
          }
        }
      }
    }
  });
}

template <class T>
void depthwise_backward_filter(const ConvShape& s, const T* dy, const T* x, T* dw, T* db, Runner& r) {
  const int64_t m = s.cout / s.c, khw = s.kh * s.kw;
  Partials<T> partials{r, dw, db, s.w_size(), s.cout};
  partials.zero();
  if (s.layout == Layout::NHWC && m == 1) {
    depthwise_nhwc_backward_filter(s, dy, x, partials, db != nullptr, r);
  } else if (s.layout == Layout::NHWC) {
    parallel_for(r, s.n * s.oh, [&](int64_t row, int thread) {
      const int64_t n = row / s.oh, oh = row % s.oh;
      T* dw_part = partials.weights(thread);
      T* db_part = db ? partials.bias(thread) : nullptr;
      for (int64_t ow = 0; ow < s.ow; ++ow) {
        const T* grad = dy + (row * s.ow + ow) * s.cout;
        if (db_part)
          for (int64_t o = 0; o < s.cout; ++o) db_part[o] += grad[o];
        for (int64_t kh = 0; kh < s.kh; ++kh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.h) continue;
          for (int64_t kw = 0; kw < s.kw; ++kw) {
            const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (iw < 0 || iw >= s.w) continue;
            // dw[k][o] += x[o / m] * dy[o]: the same axpy with the roles of w and dy swapped.
            depthwise_axpy(dw_part + (kh * s.kw + kw) * s.cout, x + ((n * s.h + ih) * s.w + iw) * s.c, grad, s.cout, m);
          }
        }
      }
    });
  } else {
    const ColumnRanges columns(s);
    parallel_for(r, s.n * s.cout, [&](int64_t plane, int thread) {
      const int64_t n = plane / s.cout, o = plane % s.cout;
      const T* xc = x + (n * s.c + o / m) * s.h * s.w;
      T* dwo = partials.weights(thread) + o * khw;
      T bias_sum = T(0);
      for (int64_t oh = 0; oh < s.oh; ++oh) {
        const T* grad = dy + (plane * s.oh + oh) * s.ow;
        for (int64_t ow = 0; ow < s.ow; ++ow) bias_sum += grad[ow];
        for (int64_t kh = 0; kh < s.kh; ++kh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.h) continue;
          for (int64_t kw = 0; kw < s.kw; ++kw) {
            const int64_t iw0 = kw * s.dilation_w - s.pad_left;
            int64_t lo, hi;
            columns.get(kw, lo, hi);
            if (hi <= lo) continue;
            dwo[kh * s.kw + kw] += strided_dot(grad + lo, xc + ih * s.w + iw0 + lo * s.stride_w, s.stride_w, hi - lo);
          }
        }
      }
      if (db) partials.bias(thread)[o] += bias_sum;
    });
  }
  partials.reduce();
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
