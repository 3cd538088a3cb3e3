// The GEMM forwards: NHWC through the input band or through im2col tiles, NCHW through im2col
// B panels. Weights come packed (conv/weights.hpp).
#pragma once

#include <algorithm>
#include <cstdint>

#include "checked.hpp"
#include "common.hpp"
#include "conv/geometry.hpp"
#include "conv/im2col.hpp"
#include "conv/nhwc_band.hpp"
#include "gemm/blocking.hpp"
#include "gemm/macro_kernel.hpp"
#include "gemm/pack.hpp"
#include "isa/config.hpp"
#include "simd/simd.hpp"
#include "ukernel/a_rows.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// The NHWC forward through im2col tiles packed as A blocks, for layers whose input band would be
// mostly padding or dilation gaps (see NhwcBand::fits): one MC x KC tile per thread, whatever
// the padding and dilation.
template <class T>
struct NhwcIm2colWorkspace {
  int64_t tasks;  // blocks of MC output pixels
  int64_t tile;   // kPackA, per thread: one MC x KC A block
  explicit NhwcIm2colWorkspace(const ConvShape& s)
      : tasks(ceil_div(s.n * s.oh * s.ow, Blocking<T>::MC)), tile(Blocking<T>::MC * Blocking<T>::KC) {}
  void add_to(WorkspaceTally& tally) const { tally.per_thread(kPackA, elements_bytes<T>(tile), tasks); }
};

template <class T>
void conv2d_forward_nhwc_im2col(const ConvShape& s, const T* x, const T* packed_w, const T* b, T* y, Runner& r) {
  constexpr int MR = Blocking<T>::MR;
  const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = s.kh * s.kw * cg, np = round_up(coutg, Blocking<T>::NR), M = s.n * s.oh * s.ow;
  const NhwcIm2colWorkspace<T> ws(s);
  parallel_for(r, ws.tasks, [&](int64_t task, int thread) {
    const int64_t p0 = task * MC, mc = std::min(MC, M - p0);
    T* pa = scratch_of<T>(r, thread, kPackA, ws.tile);
    for (int64_t g = 0; g < G; ++g)
      for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = std::min(KC, K - k0);
        // Row i of the block at i*KC is row i%MR of panel i/MR: the packed A format.
        im2col_nhwc(pa, 1, KC, x, s, g, p0, mc, k0, kc);
        if (mc % MR != 0) zero_a_rows(pa + mc / MR * MR * KC, int(mc % MR), kc);
        macro_kernel(mc, coutg, kc, pa, packed_w + g * K * np + k0 * np, y + p0 * s.cout + g * coutg, s.cout, k0 > 0,
                     static_cast<const T*>(nullptr), b ? b + g * coutg : nullptr);
      }
  });
}

// One task of conv2d_forward_nhwc (a band of output rows of one image) holds, on its thread, the
// band (kBand), the panels it packs (kPackA), and its k runs followed by a view per A panel (kRuns).
template <class T>
struct NhwcBandWorkspace {
  NhwcBand geo;
  int64_t tasks;
  int64_t max_panels, max_runs;
  int64_t packed;      // kPackA elements: at most one panel per output row boundary plus a short last one
  int64_t runs_bytes;  // kRuns: max_runs KRuns, then max_panels ARows<T>
  NhwcBandWorkspace(const ConvShape& s, int threads)
      : geo(s, Blocking<T>::MC, threads),
        tasks(s.n * geo.bands),
        max_panels(ceil_div(geo.rows_per_task * s.ow, Blocking<T>::MR)),
        max_runs(std::min<int64_t>(Blocking<T>::KC, s.kh * s.kw) + 1),
        packed(saturating_product({std::min(max_panels, geo.rows_per_task + 1), Blocking<T>::MR, Blocking<T>::KC})),
        runs_bytes(saturating_sum(saturating_product({max_runs, int64_t(sizeof(KRun))}),
                                  saturating_product({max_panels, int64_t(sizeof(ARows<T>))}))) {}
  void add_to(WorkspaceTally& tally) const {
    tally.per_thread(kBand, elements_bytes<T>(geo.elements), tasks);
    tally.per_thread(kPackA, elements_bytes<T>(packed), tasks);
    tally.per_thread(kRuns, runs_bytes, tasks);
  }
};

template <class T>
void conv2d_forward_nhwc(const ConvShape& s, const T* x, const T* packed_w, const T* b, T* y, Runner& r) {
  constexpr int MR = Blocking<T>::MR;
  const int64_t KC = Blocking<T>::KC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = s.kh * s.kw * cg, np = round_up(coutg, Blocking<T>::NR);
  const NhwcBandWorkspace<T> ws(s, r.num_threads());
  const NhwcBand& geo = ws.geo;
  const int64_t max_runs = ws.max_runs;

  parallel_for(r, ws.tasks, [&](int64_t task, int thread) {
    const int64_t n = task / geo.bands, oh0 = task % geo.bands * geo.rows_per_task;
    const int64_t rows = std::min(geo.rows_per_task, s.oh - oh0), pixels = rows * s.ow;
    T* band = scratch_of<T>(r, thread, kBand, geo.elements);
    T* pa = scratch_of<T>(r, thread, kPackA, ws.packed);
    KRun* runs = static_cast<KRun*>(r.scratch(thread, kRuns, checked_bytes(ws.runs_bytes, 1)));
    ARows<T>* panels = reinterpret_cast<ARows<T>*>(runs + max_runs);
    fill_nhwc_band(band, x, s, geo, n, oh0, rows);
    const int64_t lda = s.stride_w * s.c;
    auto window = [&](int64_t p) {  // window origin of the task's pixel p in the band
      return band + (p / s.ow) * s.stride_h * geo.pitch + (p % s.ow) * s.stride_w * s.c;
    };
    T* y_task = y + (n * s.oh + oh0) * s.ow * s.cout;
    for (int64_t g = 0; g < G; ++g) {
      for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = std::min(KC, K - k0);
        const int nruns = nhwc_band_runs(s, geo.pitch, k0, kc, runs);
        const KRun whole{0, kc};
        T* packed = pa;
        for (int64_t p0 = 0; p0 < pixels; p0 += MR) {
          const int64_t mr = std::min<int64_t>(MR, pixels - p0);
          ARows<T>& view = panels[p0 / MR];
          if (mr == MR && p0 % s.ow + MR <= s.ow) {
            view = ARows<T>{window(p0) + g * cg, lda, runs, nruns};
            continue;
          }
          zero_a_rows(packed, int(mr), kc);
          for (int64_t i = 0; i < mr; ++i) {
            const T* src = window(p0 + i) + g * cg;
            T* d = packed + i * KC;
            for (int q = 0; q < nruns; ++q) {
              copy_run(d, src + runs[q].offset, runs[q].length);
              d += runs[q].length;
            }
          }
          view = ARows<T>{packed, KC, &whole, 1};
          packed += MR * KC;
        }
        macro_kernel_rows(
            pixels, coutg, kc, [&](int64_t i) { return panels[i / MR]; }, packed_w + g * K * np + k0 * np,
            y_task + g * coutg, s.cout, k0 > 0, static_cast<const T*>(nullptr), b ? b + g * coutg : nullptr);
      }
    }
  });
}

// Tasks of conv2d_forward_nchw: blocks of `block` output pixels of one image, each packing its
// im2col B panels, KC x NC, on its thread (kPackB).
template <class T>
struct NchwGemmWorkspace {
  int64_t block, blocks_per_image, tasks, panels;
  NchwGemmWorkspace(const ConvShape& s, int threads)
      : block(task_rows(s.oh * s.ow, s.n, Blocking<T>::NC, Blocking<T>::NR, threads)),
        blocks_per_image(ceil_div(s.oh * s.ow, block)),
        tasks(s.n * blocks_per_image),
        panels(Blocking<T>::KC * Blocking<T>::NC) {}
  void add_to(WorkspaceTally& tally) const { tally.per_thread(kPackB, elements_bytes<T>(panels), tasks); }
};

template <class T>
void conv2d_forward_nchw(const ConvShape& s, const T* x, const T* packed_w, const T* b, T* y, Runner& r) {
  constexpr int NR = Blocking<T>::NR;
  const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = cg * s.kh * s.kw, P = s.oh * s.ow, mp = round_up(coutg, Blocking<T>::MR);
  const bool pointwise = is_pointwise(s);
  const int64_t group_size = packed_a_size<T>(coutg, K);

  const NchwGemmWorkspace<T> ws(s, r.num_threads());
  const int64_t block = ws.block, pblocks = ws.blocks_per_image;
  parallel_for(r, ws.tasks, [&](int64_t task, int thread) {
    const int64_t n = task / pblocks, p0 = task % pblocks * block, nc = std::min(block, P - p0);
    T* pb = scratch_of<T>(r, thread, kPackB, ws.panels);
    for (int64_t g = 0; g < G; ++g) {
      const T* xg = x + (n * s.c + g * cg) * s.h * s.w;
      T* yg = y + (n * s.cout + g * coutg) * P + p0;
      for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = std::min(KC, K - k0);
        if (pointwise)
          pack_b_block(pb, xg + k0 * P + p0, P, 1, nc, kc);
        else
          im2col_nchw(pb, NR, NR * kc, xg, s, k0, kc, p0, nc);
        for (int64_t ic = 0; ic < coutg; ic += MC)
          macro_kernel(std::min(MC, coutg - ic), nc, kc, packed_w + g * group_size + k0 * mp + ic * kc, pb, yg + ic * P,
                       P, k0 > 0, b ? b + g * coutg + ic : nullptr, static_cast<const T*>(nullptr), kc);
      }
    }
  });
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
