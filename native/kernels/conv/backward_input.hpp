// dx: as col2im of dY x W^T tiles (either layout), or for stride 1 in NHWC as the banded forward
// of dY with the flipped weights.
#pragma once

#include <algorithm>
#include <cstdint>

#include "checked.hpp"
#include "common.hpp"
#include "conv/accumulate.hpp"
#include "conv/gemm_forward.hpp"
#include "conv/im2col.hpp"
#include "conv/weights.hpp"
#include "gemm/blocking.hpp"
#include "gemm/macro_kernel.hpp"
#include "gemm/pack.hpp"
#include "isa/config.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// The col2im dx paths: W^T packed for every group (shared), and per band task a dcol tile and a
// packed dY block on its thread, in both phases of for_each_band_two_phase. NHWC's tile is
// [pixels x K] beside an A block (kPackA), NCHW's [K x pixels] beside a B block (kPackB).
template <class T>
struct Col2imWorkspace {
  int64_t packed_weights, tile, packed_dy;
  int64_t tile_pixels;  // at most one band's pixels: a few rows for a wide kernel and a small output
  explicit Col2imWorkspace(const ConvShape& s) {
    const int64_t K = s.kh * s.kw * s.cin_per_group(), coutg = s.cout_per_group();
    const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC, NC = Blocking<T>::NC;
    const bool nhwc = s.layout == Layout::NHWC;
    tile_pixels = std::min(nhwc ? MC : NC, saturating_product({std::min(col2im_band_rows(s), s.oh), s.ow}));
    packed_weights = saturating_product({s.groups, nhwc ? packed_b_size<T>(coutg, K) : packed_a_size<T>(K, coutg)});
    tile = saturating_product({tile_pixels, K});
    packed_dy = nhwc ? MC * KC : KC * NC;
  }
  void add_to(const ConvShape& s, WorkspaceTally& tally) const {
    tally.shared(kPackedWeights, elements_bytes<T>(packed_weights));
    const int packed_slot = s.layout == Layout::NHWC ? kPackA : kPackB;
    for (int64_t phase = 0; phase < 2; ++phase) {
      const int64_t tasks = s.n * col2im_phase_bands(s, phase);
      tally.per_thread(kTile, elements_bytes<T>(tile), tasks);
      tally.per_thread(packed_slot, elements_bytes<T>(packed_dy), tasks);
    }
  }
};

template <class T>
void conv2d_backward_input_nhwc(const ConvShape& s, const T* dy, const T* w, T* dx, Runner& r) {
  const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = s.kh * s.kw * cg, np = round_up(K, Blocking<T>::NR);
  const Col2imWorkspace<T> ws(s);

  // W^T per group: [Coutg x K] with element (co, kidx) at w[kidx*Cout + g*Coutg + co].
  T* packed_wt = scratch_of<T>(r, r.num_threads(), kPackedWeights, ws.packed_weights);
  for (int64_t g = 0; g < G; ++g) pack_b_full(packed_wt + g * coutg * np, w + g * coutg, 1, s.cout, coutg, K, r);
  zero_fill(dx, s.x_size(), r);

  for_each_band_two_phase(r, s, [&](int64_t n, int64_t oh_begin, int64_t oh_end, int thread) {
    T* dcol = scratch_of<T>(r, thread, kTile, ws.tile);
    T* pa = scratch_of<T>(r, thread, kPackA, ws.packed_dy);
    const int64_t p_end = (n * s.oh + oh_end) * s.ow;
    for (int64_t t0 = (n * s.oh + oh_begin) * s.ow; t0 < p_end; t0 += MC) {
      const int64_t tp = std::min(MC, p_end - t0);
      for (int64_t g = 0; g < G; ++g) {
        for (int64_t k0 = 0; k0 < coutg; k0 += KC) {
          const int64_t kc = std::min(KC, coutg - k0);
          pack_a_block(pa, dy + t0 * s.cout + g * coutg + k0, s.cout, 1, tp, kc);
          macro_kernel(tp, K, kc, pa, packed_wt + g * coutg * np + k0 * np, dcol, K, k0 > 0,
                       static_cast<const T*>(nullptr), static_cast<const T*>(nullptr));
        }
        col2im_nhwc(dx, dcol, s, g, t0, tp);
      }
    }
  });
}

// With stride 1, dx is the forward convolution of dY (padded by dilation*(K-1) - pad) with the
// weights flipped in space and with in and out channels swapped: the banded NHWC forward then
// computes each dx pixel once, with no col2im pass and no zero fill of dx. Applies when that
// padding is not negative on any side (conv/choose.hpp decides).
inline ConvShape dx_as_forward_shape(const ConvShape& s) {
  ConvShape t = s;
  t.h = s.oh, t.w = s.ow, t.c = s.cout, t.oh = s.h, t.ow = s.w, t.cout = s.c;
  t.pad_top = (s.kh - 1) * s.dilation_h - s.pad_top, t.pad_bottom = (s.kh - 1) * s.dilation_h - s.pad_bottom;
  t.pad_left = (s.kw - 1) * s.dilation_w - s.pad_left, t.pad_right = (s.kw - 1) * s.dilation_w - s.pad_right;
  return t;
}

// dx as a forward: the flipped weights (shared kTile), the forward's packed weights and band.
template <class T>
struct DxAsForwardWorkspace {
  ConvShape forward;  // dx_as_forward_shape
  int64_t flipped;
  explicit DxAsForwardWorkspace(const ConvShape& s) : forward(dx_as_forward_shape(s)), flipped(s.w_size()) {}
  void add_to(WorkspaceTally& tally) const {
    tally.shared(kTile, elements_bytes<T>(flipped));
    ForwardWeightsWorkspace<T>(forward).add_to(tally);
    NhwcBandWorkspace<T>(forward, tally.threads()).add_to(tally);
  }
};

template <class T>
void conv2d_backward_input_nhwc_as_forward(const ConvShape& s, const T* dy, const T* w, T* dx, Runner& r) {
  const int64_t cg = s.cin_per_group(), coutg = s.cout_per_group(), taps = s.kh * s.kw;
  const DxAsForwardWorkspace<T> ws(s);
  const ConvShape& t = ws.forward;
  // t's HWIO weights: (tap, co, g*Cg + ci) = w(taps-1-tap, ci, g*Coutg + co), w being [taps][Cg][Cout].
  T* flipped = scratch_of<T>(r, r.num_threads(), kTile, ws.flipped);
  parallel_for(r, taps, [&](int64_t tap, int) {
    const T* src = w + (taps - 1 - tap) * cg * s.cout;
    T* dst = flipped + tap * coutg * s.c;
    for (int64_t g = 0; g < s.groups; ++g)
      for (int64_t co = 0; co < coutg; ++co)
        for (int64_t ci = 0; ci < cg; ++ci) dst[co * s.c + g * cg + ci] = src[ci * s.cout + g * coutg + co];
  });
  T* packed = scratch_of<T>(r, r.num_threads(), kPackedWeights, ForwardWeightsWorkspace<T>(t).packed);
  pack_gemm_forward_weights(t, flipped, packed, r);
  conv2d_forward_nhwc(t, dy, packed, static_cast<const T*>(nullptr), dx, r);
}

template <class T>
void conv2d_backward_input_nchw(const ConvShape& s, const T* dy, const T* w, T* dx, Runner& r) {
  const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC, NC = Blocking<T>::NC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = cg * s.kh * s.kw, P = s.oh * s.ow, mp = round_up(K, Blocking<T>::MR);
  const Col2imWorkspace<T> ws(s);

  // W^T per group: [K x Coutg] with element (kidx, co) at w[(g*Coutg + co)*K + kidx].
  T* packed_wt = scratch_of<T>(r, r.num_threads(), kPackedWeights, ws.packed_weights);
  const int64_t group_size = packed_a_size<T>(K, coutg);
  for (int64_t g = 0; g < G; ++g) pack_a_full(packed_wt + g * group_size, w + g * coutg * K, 1, K, K, coutg, r);
  zero_fill(dx, s.x_size(), r);

  for_each_band_two_phase(r, s, [&](int64_t n, int64_t oh_begin, int64_t oh_end, int thread) {
    T* dcol = scratch_of<T>(r, thread, kTile, ws.tile);
    T* pb = scratch_of<T>(r, thread, kPackB, ws.packed_dy);
    const int64_t p_end = oh_end * s.ow;
    for (int64_t t0 = oh_begin * s.ow; t0 < p_end; t0 += NC) {
      const int64_t tp = std::min(NC, p_end - t0);
      for (int64_t g = 0; g < G; ++g) {
        for (int64_t k0 = 0; k0 < coutg; k0 += KC) {
          const int64_t kc = std::min(KC, coutg - k0);
          pack_b_block(pb, dy + (n * s.cout + g * coutg + k0) * P + t0, P, 1, tp, kc);
          for (int64_t ic = 0; ic < K; ic += MC)
            macro_kernel(std::min(MC, K - ic), tp, kc, packed_wt + g * group_size + k0 * mp + ic * kc, pb,
                         dcol + ic * tp, tp, k0 > 0, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr),
                         kc);
        }
        col2im_nchw(dx + (n * s.c + g * cg) * s.h * s.w, dcol, tp, s, t0, tp);
      }
    }
  });
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
