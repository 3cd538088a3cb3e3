// The geometry of one convolution shared by its kernels: which outputs see real input along an
// axis, the direct kernels' view of a layer (DirectGeometry, also the dx-as-convolution view),
// and where a weight or an activation element sits in either layout.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common.hpp"
#include "gemm/blocking.hpp"
#include "isa/config.hpp"
#include "simd/simd.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// For `len` consecutive outputs whose first input column is iw0 (then every `stride`), the
// index range [lo, hi) of those that fall inside [0, width).
inline void valid_run(int64_t iw0, int64_t stride, int64_t len, int64_t width, int64_t& lo, int64_t& hi) {
  lo = iw0 >= 0 ? 0 : std::min(len, ceil_div(-iw0, stride));
  hi = iw0 >= width ? 0 : std::min(len, ceil_div(width - iw0, stride));
  if (hi < lo) hi = lo;
}

inline bool is_pointwise(const ConvShape& s) {
  return s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
         s.pad_bottom == 0 && s.pad_right == 0;
}

// kDirectAccumulators (isa/<isa>.hpp) vector registers hold accumulators: a block of output
// channels (a power of two, at most kDirectMaxCout) times the vectors of one output-row chunk.
constexpr int64_t kDirectMaxCout = 16;

// One convolution as the direct kernel sees it: for dx the roles of input and output swap.
struct DirectGeometry {
  Layout layout;
  int64_t n, groups, cin, cout;  // channels in total; per group cin / groups and cout / groups
  int64_t h, w, oh, ow, kh, kw;
  int64_t stride_h, stride_w, dilation_h, dilation_w;
  int64_t pad_top, pad_left;  // may be negative for dx (padding beyond the kernel's reach)

  int64_t cin_g() const { return cin / groups; }
  int64_t cout_g() const { return cout / groups; }
  int64_t taps() const { return cin_g() * kh * kw; }
  // Vectors per output-row chunk and output channels per block.
  template <class T>
  int vectors() const {
    return ow > kLanes<T> ? 2 : 1;
  }
  template <class T>
  int64_t chunk() const {
    return vectors<T>() * kLanes<T>;
  }
  // The smallest power of two that holds the group's channels, within the register budget.
  template <class T>
  int64_t cout_block() const {
    int64_t block = 1;
    while (block < cout_g() && 2 * block * vectors<T>() <= kDirectAccumulators) block *= 2;
    return block;
  }
  // The padded input planes: every row and column any chunk reads, the chunk's tail included.
  int64_t padded_h() const { return (oh - 1) * stride_h + (kh - 1) * dilation_h + 1; }
  template <class T>
  int64_t padded_w() const {
    return (round_up(ow, chunk<T>()) - 1) * stride_w + (kw - 1) * dilation_w + 1;
  }
};

inline DirectGeometry forward_geometry(const ConvShape& s) {
  return DirectGeometry{s.layout, s.n,  s.groups,   s.c,        s.cout,       s.h,          s.w,       s.oh,      s.ow,
                        s.kh,     s.kw, s.stride_h, s.stride_w, s.dilation_h, s.dilation_w, s.pad_top, s.pad_left};
}

// dx as a convolution of dy (stride 1 only): kernel flipped, pads (K-1)*dilation - pad.
inline DirectGeometry backward_input_geometry(const ConvShape& s) {
  return DirectGeometry{s.layout,
                        s.n,
                        s.groups,
                        s.cout,
                        s.c,
                        s.oh,
                        s.ow,
                        s.h,
                        s.w,
                        s.kh,
                        s.kw,
                        1,
                        1,
                        s.dilation_h,
                        s.dilation_w,
                        (s.kh - 1) * s.dilation_h - s.pad_top,
                        (s.kw - 1) * s.dilation_w - s.pad_left};
}

// Element strides of one image's activation for (channel, row, column) in a layout.
struct PlaneStrides {
  int64_t channel, row, column;
};

inline PlaneStrides plane_strides(Layout layout, int64_t channels, int64_t h, int64_t w) {
  return layout == Layout::NCHW ? PlaneStrides{h * w, w, 1} : PlaneStrides{1, w * channels, channels};
}

// Weight (g, co, ci, kh, kw) of a layer's weight tensor, OIHW or HWIO by layout.
inline int64_t weight_index(const ConvShape& s, int64_t g, int64_t co, int64_t ci, int64_t y, int64_t x) {
  const int64_t cg = s.cin_per_group(), coutg = s.cout_per_group();
  return s.layout == Layout::NCHW ? (((g * coutg + co) * cg + ci) * s.kh + y) * s.kw + x
                                  : ((y * s.kw + x) * cg + ci) * s.cout + g * coutg + co;
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
