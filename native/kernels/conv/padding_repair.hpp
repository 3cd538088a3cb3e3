// Zero padding contributes nothing to a convolution. The direct kernels and the GEMM's input
// bands and im2col tiles hold the padding as zeros and multiply them by the weights, which is
// exact while every weight is finite (0 * w == 0) but gives NaN for an infinite or NaN weight
// (0 * Inf); so does dx computed as a convolution of zero-padded dY, and dw where x's padding
// meets an infinite dY. Rather than bounds-check taps in every kernel's inner loop, the entry
// points repair the result afterwards, at the cost of a scan in the common case:
// - A padded tap with a non-finite weight always leaves NaN in its output pixel, and only pixels
//   whose windows reach into the padding have padded taps. So the result is exact when every
//   weight is finite or when the output holds no NaN; whichever scan is shorter decides (one
//   vectorised pass; its cost: docs/decisions.md). Otherwise the border pixels
//   holding a NaN are recomputed from the taps that land on real input only (a NaN that real
//   data produced comes out again).
// - Depthwise and col2im paths skip padded taps themselves: the repair finds nothing to do there
//   (or redoes a pixel exactly), which keeps the guarantee independent of the path a shape takes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "common.hpp"
#include "conv/geometry.hpp"
#include "gemm/blocking.hpp"
#include "isa/config.hpp"
#include "plan.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// Whether every element is finite: exponent bits all ones means infinite or NaN. The integer
// compares are ORed into a word rather than a bool so that the loop vectorises on every ISA (a
// floating-point test, x * 0 == 0, vectorised worse and carries an add's latency chain).
template <class T>
using FloatBits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;

template <class T>
constexpr FloatBits<T> kExponentBits = sizeof(T) == 4 ? FloatBits<T>(0x7f800000u) : FloatBits<T>(0x7ff0000000000000ull);

template <class T>
bool all_finite(const T* v, int64_t count) {
  FloatBits<T> bad = 0;
  for (int64_t i = 0; i < count; ++i) {
    FloatBits<T> bits;
    std::memcpy(&bits, v + i, sizeof bits);
    bad |= FloatBits<T>((bits & kExponentBits<T>) == kExponentBits<T>);
  }
  return bad == 0;
}

template <class T>
bool any_nan(const T* v, int64_t count) {
  int nan = 0;
  for (int64_t i = 0; i < count; ++i) nan |= int(v[i] != v[i]);
  return nan != 0;
}

// Outputs [lo, hi) along one axis whose every tap lands inside [0, size): output o's first tap
// o * stride - pad must be >= 0 and its last, (k - 1) * dilation further, < size. (Called for
// every convolution with padding: stride 1 needs no division.)
inline void inner_outputs(int64_t outputs, int64_t stride, int64_t pad, int64_t k, int64_t dilation, int64_t size,
                          int64_t& lo, int64_t& hi) {
  const int64_t room = size + pad - (k - 1) * dilation - 1;  // the largest o * stride allowed
  lo = pad <= 0 ? 0 : std::min(outputs, stride == 1 ? pad : ceil_div(pad, stride));
  hi = room < 0 ? 0 : std::min(outputs, (stride == 1 ? room : room / stride) + 1);
  hi = std::max(hi, lo);
}

// The output rows and columns whose windows lie wholly inside the input; the others form the
// border.
struct InnerOutputs {
  int64_t row_lo, row_hi, col_lo, col_hi;
  explicit InnerOutputs(const DirectGeometry& d) {
    inner_outputs(d.oh, d.stride_h, d.pad_top, d.kh, d.dilation_h, d.h, row_lo, row_hi);
    inner_outputs(d.ow, d.stride_w, d.pad_left, d.kw, d.dilation_w, d.w, col_lo, col_hi);
  }
  // Border pixels per image (0: no window reaches into the padding).
  int64_t border(const DirectGeometry& d) const { return d.oh * d.ow - (row_hi - row_lo) * (col_hi - col_lo); }
};

// Calls fn(ow) for each output column of row oh whose window reaches into the padding.
template <class F>
void for_each_border_column(const DirectGeometry& d, const InnerOutputs& inner, int64_t oh, F&& fn) {
  if (oh < inner.row_lo || oh >= inner.row_hi) {
    for (int64_t ow = 0; ow < d.ow; ++ow) fn(ow);
    return;
  }
  for (int64_t ow = 0; ow < inner.col_lo; ++ow) fn(ow);
  for (int64_t ow = inner.col_hi; ow < d.ow; ++ow) fn(ow);
}

// The repair's workspace, counted whenever the shape has border pixels although it runs only
// when the data holds non-finite values: the weights as taps (shared) and, per task (an output
// row) on its thread, one pixel's accumulators (kPackA).
template <class T>
struct BorderRepairWorkspace {
  int64_t taps, accumulators, tasks;
  explicit BorderRepairWorkspace(const DirectGeometry& d)
      : taps(InnerOutputs(d).border(d) == 0 ? 0 : saturating_product({d.groups, d.cin_g(), d.kh, d.kw, d.cout_g()})),
        accumulators(taps == 0 ? 0 : d.cout_g()),
        tasks(taps == 0 ? 0 : d.n * d.oh) {}
  void add_to(WorkspaceTally& tally) const {
    tally.shared(kPackedWeights, elements_bytes<T>(taps));
    tally.per_thread(kPackA, elements_bytes<T>(accumulators), tasks);
  }
};

// The dw repair's, likewise: per task (an input channel of a group) on its thread, the
// channel's accumulators for every tap and output channel (kPackA).
template <class T>
struct FilterRepairWorkspace {
  int64_t accumulators, tasks;
  explicit FilterRepairWorkspace(const DirectGeometry& d)
      : accumulators(InnerOutputs(d).border(d) == 0 ? 0 : saturating_product({d.kh, d.kw, d.cout_g()})),
        tasks(accumulators == 0 ? 0 : d.groups * d.cin_g()) {}
  void add_to(WorkspaceTally& tally) const { tally.per_thread(kPackA, elements_bytes<T>(accumulators), tasks); }
};

// The workspace of the repair after `pass` (none after a dx with stride above 1).
template <class T>
void add_repair_workspace(const ConvShape& s, ConvPass pass, WorkspaceTally& tally) {
  if (pass == ConvPass::kForward) BorderRepairWorkspace<T>(forward_geometry(s)).add_to(tally);
  if (pass == ConvPass::kBackwardInput && s.stride_h == 1 && s.stride_w == 1)
    BorderRepairWorkspace<T>(backward_input_geometry(s)).add_to(tally);
  if (pass == ConvPass::kBackwardFilter) FilterRepairWorkspace<T>(forward_geometry(s)).add_to(tally);
}

// Makes every border pixel of `out` exact, given that the kernel that wrote it multiplied padding
// by the weights: with every weight finite, or no NaN in `out`, it already is (the shorter of the
// two scans decides); else each border pixel holding a NaN gets bias plus the sum over its taps
// inside the input only. weight(g, co, ci, kh, kw) reads the layer's weights; w_raw holds the
// same w_size weights as stored, for the scan.
template <class T, class Weight>
void repair_padded_border(const DirectGeometry& d, const T* in, const T* w_raw, int64_t w_size, Weight&& weight,
                          const T* bias, T* out, Runner& r) {
  const InnerOutputs inner(d);
  if (inner.border(d) == 0) return;
  const int64_t out_size = d.n * d.cout * d.oh * d.ow;
  if (w_size <= out_size ? all_finite(w_raw, w_size) : !any_nan(out, out_size)) return;
  const PlaneStrides in_strides = plane_strides(d.layout, d.cin, d.h, d.w);
  const PlaneStrides out_strides = plane_strides(d.layout, d.cout, d.oh, d.ow);
  const int64_t in_image = d.cin * d.h * d.w, out_image = d.cout * d.oh * d.ow;
  const int64_t cing = d.cin_g(), coutg = d.cout_g();
  const BorderRepairWorkspace<T> ws(d);
  // Weights as [g][ci][kh][kw][co]: a tap's output channels contiguous, whatever the layout.
  T* taps = scratch_of<T>(r, r.num_threads(), kPackedWeights, ws.taps);
  T* dest = taps;
  for (int64_t g = 0; g < d.groups; ++g)
    for (int64_t ci = 0; ci < cing; ++ci)
      for (int64_t y = 0; y < d.kh; ++y)
        for (int64_t x = 0; x < d.kw; ++x)
          for (int64_t co = 0; co < coutg; ++co) *dest++ = weight(g, co, ci, y, x);
  parallel_for(r, ws.tasks, [&](int64_t task, int thread) {
    const int64_t n = task / d.oh, oh = task % d.oh;
    T* acc = scratch_of<T>(r, thread, kPackA, ws.accumulators);
    // The kernel rows inside the input are the same for the whole output row.
    int64_t y_lo, y_hi;
    valid_run(oh * d.stride_h - d.pad_top, d.dilation_h, d.kh, d.h, y_lo, y_hi);
    for_each_border_column(d, inner, oh, [&](int64_t ow) {
      T* o = out + n * out_image + oh * out_strides.row + ow * out_strides.column;
      int nan = 0;
      for (int64_t co = 0; co < d.cout; ++co) nan |= int(o[co * out_strides.channel] != o[co * out_strides.channel]);
      if (!nan) return;
      int64_t x_lo, x_hi;
      valid_run(ow * d.stride_w - d.pad_left, d.dilation_w, d.kw, d.w, x_lo, x_hi);
      for (int64_t g = 0; g < d.groups; ++g) {
        for (int64_t co = 0; co < coutg; ++co) acc[co] = bias ? bias[g * coutg + co] : T(0);
        for (int64_t ci = 0; ci < cing; ++ci) {
          const T* plane = in + n * in_image + (g * cing + ci) * in_strides.channel;
          for (int64_t y = y_lo; y < y_hi; ++y) {
            const int64_t ih = oh * d.stride_h - d.pad_top + y * d.dilation_h;
            for (int64_t x = x_lo; x < x_hi; ++x) {
              const int64_t iw = ow * d.stride_w - d.pad_left + x * d.dilation_w;
              const T v = plane[ih * in_strides.row + iw * in_strides.column];
              const T* wp = taps + (((g * cing + ci) * d.kh + y) * d.kw + x) * coutg;
              for (int64_t co = 0; co < coutg; ++co) acc[co] += v * wp[co];
            }
          }
        }
        for (int64_t co = 0; co < coutg; ++co) o[(g * coutg + co) * out_strides.channel] = acc[co];
      }
    });
  });
}

// After any forward path.
template <class T>
void forward_padding_exact(const ConvShape& s, const T* x, const T* w, const T* b, T* y, Runner& r) {
  auto weight = [&](int64_t g, int64_t co, int64_t ci, int64_t ky, int64_t kx) {
    return w[weight_index(s, g, co, ci, ky, kx)];
  };
  repair_padded_border(forward_geometry(s), x, w, s.w_size(), weight, b, y, r);
}

// After any dx path: for stride 1, dx is a convolution of dY padded by (K-1)*dilation - pad with
// the flipped, transposed weights (conv/geometry.hpp's backward_input_geometry), and the direct and
// banded-GEMM paths compute it that way. Larger strides only go through col2im and scatters,
// which never touch padding.
template <class T>
void backward_input_padding_exact(const ConvShape& s, const T* dy, const T* w, T* dx, Runner& r) {
  if (s.stride_h != 1 || s.stride_w != 1) return;
  auto weight = [&](int64_t g, int64_t co, int64_t ci, int64_t ky, int64_t kx) {
    return w[weight_index(s, g, ci, co, s.kh - 1 - ky, s.kw - 1 - kx)];
  };
  repair_padded_border(backward_input_geometry(s), dy, w, s.w_size(), weight, static_cast<const T*>(nullptr), dx, r);
}

// dw sums x * dY over output pixels, x's padding included as zeros: a non-finite dY at a border
// pixel makes 0 * Inf = NaN in the dw of that pixel's padded taps. So dw is exact when dY is all
// finite or when dw holds no NaN (the shorter scan decides). Else, which is rare (an overflowed
// loss), the whole dw is recomputed from the taps inside the input.
// Each task owns one input channel of one group: no races, and the sums run in pixel order
// whatever the thread count.
template <class T>
void backward_filter_padding_exact(const ConvShape& s, const T* dy, const T* x, T* dw, Runner& r) {
  const DirectGeometry d = forward_geometry(s);
  const InnerOutputs inner(d);
  if (inner.border(d) == 0) return;
  if (s.w_size() <= s.y_size() ? !any_nan(dw, s.w_size()) : all_finite(dy, s.y_size())) return;
  const PlaneStrides in_strides = plane_strides(d.layout, d.cin, d.h, d.w);
  const PlaneStrides out_strides = plane_strides(d.layout, d.cout, d.oh, d.ow);
  const int64_t in_image = d.cin * d.h * d.w, out_image = d.cout * d.oh * d.ow;
  const int64_t cing = d.cin_g(), coutg = d.cout_g();
  const FilterRepairWorkspace<T> ws(d);
  parallel_for(r, ws.tasks, [&](int64_t task, int thread) {
    const int64_t g = task / cing, ci = task % cing;
    T* acc = scratch_of<T>(r, thread, kPackA, ws.accumulators);  // [kh][kw][co]
    std::fill(acc, acc + ws.accumulators, T(0));
    for (int64_t n = 0; n < d.n; ++n) {
      const T* plane = x + n * in_image + (g * cing + ci) * in_strides.channel;
      for (int64_t oh = 0; oh < d.oh; ++oh) {
        int64_t y_lo, y_hi;
        valid_run(oh * d.stride_h - d.pad_top, d.dilation_h, d.kh, d.h, y_lo, y_hi);
        for (int64_t ow = 0; ow < d.ow; ++ow) {
          int64_t x_lo, x_hi;
          valid_run(ow * d.stride_w - d.pad_left, d.dilation_w, d.kw, d.w, x_lo, x_hi);
          const T* grad =
              dy + n * out_image + g * coutg * out_strides.channel + oh * out_strides.row + ow * out_strides.column;
          for (int64_t y = y_lo; y < y_hi; ++y) {
            const int64_t ih = oh * d.stride_h - d.pad_top + y * d.dilation_h;
            for (int64_t kx = x_lo; kx < x_hi; ++kx) {
              const int64_t iw = ow * d.stride_w - d.pad_left + kx * d.dilation_w;
              const T v = plane[ih * in_strides.row + iw * in_strides.column];
              T* a = acc + (y * d.kw + kx) * coutg;
              for (int64_t co = 0; co < coutg; ++co) a[co] += v * grad[co * out_strides.channel];
            }
          }
        }
      }
    }
    for (int64_t y = 0; y < d.kh; ++y)
      for (int64_t kx = 0; kx < d.kw; ++kx)
        for (int64_t co = 0; co < coutg; ++co)
          dw[weight_index(s, g, co, ci, y, kx)] = acc[(y * d.kw + kx) * coutg + co];
  });
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
