// dw (and db) as GEMMs of the im2col of x and dY, summed in per-thread partials.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common.hpp"
#include "conv/accumulate.hpp"
#include "conv/geometry.hpp"
#include "conv/im2col.hpp"
#include "gemm/blocking.hpp"
#include "gemm/macro_kernel.hpp"
#include "gemm/pack.hpp"
#include "isa/config.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// The weight gradient needs one operand transposed while packing, one scalar store per element:
// either the im2col of x (K x pixels) or dY (Coutg x pixels). NCHW computes dW^T, which
// transposes dY and takes the im2col tile as it is. NHWC transposes whichever is smaller: dY for
// dW^T = dY^T x im2col when Coutg <= K (the 3x3 layers: 9x fewer elements), else the im2col for
// dW = im2col^T x dY (a 1x1 layer with 128 inputs and 512 outputs); dW^T is transposed once, in
// the per-thread reduction.

// The NHWC dw: per-thread partials, and per task (TP pixels) on its thread the im2col tile when
// the panels are not filled straight from x (kTile), and the packed operands (kPackA, kPackB).
template <class T>
struct FilterGemmNhwcWorkspace {
  bool transposed, pointwise, direct_panels;
  int64_t tasks, tile, packed_a, packed_b;
  explicit FilterGemmNhwcWorkspace(const ConvShape& s) {
    constexpr int MR = Blocking<T>::MR, NR = Blocking<T>::NR;
    const int64_t TP = Blocking<T>::KC, MC = Blocking<T>::MC, NC = Blocking<T>::NC;
    const int64_t cg = s.cin_per_group(), coutg = s.cout_per_group(), K = s.kh * s.kw * cg, M = s.n * s.oh * s.ow;
    transposed = coutg <= K;
    pointwise = is_pointwise(s);
    // dW^T with whole B panels per tap: the im2col goes straight into the panels, no tile (the
    // 3x3 C256 layer's would be 2.4 MB). NC being a multiple of NR, every block starts on a panel.
    direct_panels = transposed && !pointwise && cg % NR == 0;
    tasks = ceil_div(M, TP);
    tile = pointwise || direct_panels ? 0 : saturating_product({std::min(TP, M), K});
    packed_a = transposed ? saturating_product({round_up(coutg, MR), TP}) : MC * TP;
    packed_b = transposed ? TP * NC : saturating_product({TP, round_up(coutg, NR)});
  }
  void add_to(const ConvShape& s, WorkspaceTally& tally) const {
    Partials<T>::add_to(s.w_size(), s.cout, transposed, tally);
    if (tile > 0) tally.per_thread(kTile, elements_bytes<T>(tile), tasks);
    tally.per_thread(kPackA, elements_bytes<T>(packed_a), tasks);
    tally.per_thread(kPackB, elements_bytes<T>(packed_b), tasks);
  }
};

template <class T>
void conv2d_backward_filter_nhwc(const ConvShape& s, const T* dy, const T* x, T* dw, T* db, Runner& r) {
  const int64_t TP = Blocking<T>::KC, MC = Blocking<T>::MC, NC = Blocking<T>::NC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = s.kh * s.kw * cg, M = s.n * s.oh * s.ow;
  const FilterGemmNhwcWorkspace<T> ws(s);
  const bool transposed = ws.transposed, pointwise = ws.pointwise, direct_panels = ws.direct_panels;
  Partials<T> partials{r, dw, db, s.w_size(), s.cout, transposed ? s.cout : 0};
  partials.zero();

  parallel_for(r, ws.tasks, [&](int64_t task, int thread) {
    const int64_t t0 = task * TP, tp = std::min(TP, M - t0);
    T* dw_part = partials.weights(thread);
    for (int64_t g = 0; g < G; ++g) {
      // The im2col rows of the tile's pixels (tp x K, row stride ld): x itself for 1x1 layers.
      const T* cols = x + t0 * s.c + g * cg;
      int64_t ld = s.c;
      if (!pointwise && !direct_panels) {
        T* tile = scratch_of<T>(r, thread, kTile, ws.tile);
        im2col_nhwc(tile, 1, K, x, s, g, t0, tp, 0, K);
        cols = tile;
        ld = K;
      }
      if (transposed) {
        // dW_g^T [Coutg x K] += dY_g^T [Coutg x tp] * im2col [tp x K]
        T* pa = scratch_of<T>(r, thread, kPackA, ws.packed_a);
        T* pb = scratch_of<T>(r, thread, kPackB, ws.packed_b);
        pack_a_block(pa, dy + t0 * s.cout + g * coutg, 1, s.cout, coutg, tp);
        for (int64_t jc = 0; jc < K; jc += NC) {
          const int64_t nc = std::min(NC, K - jc);
          if (direct_panels)
            im2col_nhwc_b_panels(pb, x, s, g, t0, tp, jc, nc);
          else
            pack_b_block(pb, cols + jc, ld, 1, nc, tp);
          for (int64_t ic = 0; ic < coutg; ic += MC)
            macro_kernel(std::min(MC, coutg - ic), nc, tp, pa + ic * TP, pb, dw_part + (g * coutg + ic) * K + jc, K,
                         true, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr));
        }
      } else {
        // dW_g [K x Coutg] += im2col^T [K x tp] * dY_g [tp x Coutg]
        T* pa = scratch_of<T>(r, thread, kPackA, ws.packed_a);
        T* pb = scratch_of<T>(r, thread, kPackB, ws.packed_b);
        pack_b_block(pb, dy + t0 * s.cout + g * coutg, s.cout, 1, coutg, tp);
        for (int64_t ic = 0; ic < K; ic += MC) {
          const int64_t mc = std::min(MC, K - ic);
          pack_a_block(pa, cols + ic, 1, ld, mc, tp);
          macro_kernel(mc, coutg, tp, pa, pb, dw_part + ic * s.cout + g * coutg, s.cout, true,
                       static_cast<const T*>(nullptr), static_cast<const T*>(nullptr));
        }
      }
    }
    if (db) {
      T* db_part = partials.bias(thread);
      for (int64_t i = 0; i < tp; ++i) {
        const T* row = dy + (t0 + i) * s.cout;
        for (int64_t co = 0; co < s.cout; ++co) db_part[co] += row[co];
      }
    }
  });
  partials.reduce();
}

// NCHW: dW_g^T [K x Coutg] += im2col [K x tp] * dY_g^T [tp x Coutg]; dW (OIHW) is [Cout x K].
// The im2col tile, rows of TP = KC elements, is already an A block in the packed format (row r
// at r*KC), so it is not copied at all. Per task (TP pixels of one image), on its thread: the
// tile (kTile) and the packed dY (kPackB); every thread has a transposed partial.
template <class T>
struct FilterGemmNchwWorkspace {
  int64_t tiles_per_image, tasks, tile, packed_b;
  explicit FilterGemmNchwWorkspace(const ConvShape& s)
      : tiles_per_image(ceil_div(s.oh * s.ow, Blocking<T>::KC)),
        tasks(s.n * tiles_per_image),
        tile(saturating_product({round_up(s.cin_per_group() * s.kh * s.kw, Blocking<T>::MR), Blocking<T>::KC})),
        packed_b(saturating_product({Blocking<T>::KC, round_up(s.cout_per_group(), Blocking<T>::NR)})) {}
  void add_to(const ConvShape& s, WorkspaceTally& tally) const {
    Partials<T>::add_to(s.w_size(), s.cout, true, tally);
    tally.per_thread(kTile, elements_bytes<T>(tile), tasks);
    tally.per_thread(kPackB, elements_bytes<T>(packed_b), tasks);
  }
};

template <class T>
void conv2d_backward_filter_nchw(const ConvShape& s, const T* dy, const T* x, T* dw, T* db, Runner& r) {
  constexpr int MR = Blocking<T>::MR;
  const int64_t TP = Blocking<T>::KC, MC = Blocking<T>::MC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = cg * s.kh * s.kw, P = s.oh * s.ow, kp = round_up(K, MR);
  Partials<T> partials{r, dw, db, s.w_size(), s.cout, K};
  partials.zero();

  const FilterGemmNchwWorkspace<T> ws(s);
  const int64_t tiles = ws.tiles_per_image;
  parallel_for(r, ws.tasks, [&](int64_t task, int thread) {
    const int64_t n = task / tiles, t0 = task % tiles * TP, tp = std::min(TP, P - t0);
    T* tile = scratch_of<T>(r, thread, kTile, ws.tile);
    T* pb = scratch_of<T>(r, thread, kPackB, ws.packed_b);
    T* dw_part = partials.weights(thread);
    // The last A panel's rows past K (the micro-kernel computes whole panels).
    std::memset(tile + K * TP, 0, sizeof(T) * size_t((kp - K) * TP));
    for (int64_t g = 0; g < G; ++g) {
      im2col_nchw(tile, TP, TP * K, x + (n * s.c + g * cg) * s.h * s.w, s, 0, K, t0, tp);
      pack_b_block(pb, dy + (n * s.cout + g * coutg) * P + t0, 1, P, coutg, tp);
      for (int64_t ic = 0; ic < K; ic += MC)
        macro_kernel(std::min(MC, K - ic), coutg, tp, tile + ic * TP, pb, dw_part + ic * s.cout + g * coutg, s.cout,
                     true, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr));
    }
    if (db) {
      T* db_part = partials.bias(thread);
      for (int64_t co = 0; co < s.cout; ++co) {
        const T* row = dy + (n * s.cout + co) * P + t0;
        T sum = T(0);
        for (int64_t i = 0; i < tp; ++i) sum += row[i];
        db_part[co] += sum;
      }
    }
  });
  partials.reduce();
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
