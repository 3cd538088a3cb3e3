// Direct convolution for layers with few output channels per group (LeNet's 1->6 and 6->16),
// where im2col + GEMM would fill a small part of each micro-tile and spend more time building
// panels than multiplying. Per image and group, the input planes are first copied into a
// zero-padded per-thread buffer (from either layout), so the inner loops carry no bounds
// checks; then each output row is computed a few vectors at a time, with a block of output
// channels held in registers across all the taps. The same kernel gives dx for stride 1 as a
// convolution of dy with the flipped, transposed weights; dw reduces along output rows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "checked.hpp"
#include "common.hpp"
#include "conv/accumulate.hpp"
#include "conv/geometry.hpp"
#include "gemm/blocking.hpp"
#include "isa/config.hpp"
#include "plan.hpp"
#include "simd/simd.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// dest: `channels` planes of rows x cols, dest(c, r, q) = src(c, r - pad_top, q - pad_left)
// inside the h x w source and 0 outside.
template <class T>
void pad_planes(T* dest, int64_t rows, int64_t cols, const T* src, PlaneStrides in, int64_t channels, int64_t h,
                int64_t w, int64_t pad_top, int64_t pad_left) {
  const int64_t q_begin = std::clamp<int64_t>(pad_left, 0, cols),
                q_end = std::clamp<int64_t>(w + pad_left, q_begin, cols);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t r = 0; r < rows; ++r) {
      T* d = dest + (c * rows + r) * cols;
      const int64_t ih = r - pad_top;
      if (ih < 0 || ih >= h || q_begin == q_end) {
        std::memset(d, 0, sizeof(T) * size_t(cols));
        continue;
      }
      std::memset(d, 0, sizeof(T) * size_t(q_begin));
      const T* s = src + c * in.channel + ih * in.row + (q_begin - pad_left) * in.column;
      if (in.column == 1) {
        std::memcpy(d + q_begin, s, sizeof(T) * size_t(q_end - q_begin));
      } else {
        for (int64_t q = q_begin; q < q_end; ++q) d[q] = s[(q - q_begin) * in.column];
      }
      std::memset(d + q_end, 0, sizeof(T) * size_t(cols - q_end));
    }
}

// Packed weights: for each group and block of `block` output channels, taps (ci, kh, kw) in
// order, each holding `block` values (zero past the group's channels). weight(g, co, ci, kh, kw)
// reads the caller's tensor.
template <class T, class Weight>
void pack_direct_weights(T* dest, const DirectGeometry& d, int64_t block, Weight&& weight) {
  const int64_t coutg = d.cout_g(), blocks = ceil_div(coutg, block);
  for (int64_t g = 0; g < d.groups; ++g)
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t ci = 0; ci < d.cin_g(); ++ci)
        for (int64_t y = 0; y < d.kh; ++y)
          for (int64_t x = 0; x < d.kw; ++x)
            for (int64_t c = 0; c < block; ++c) {
              const int64_t co = b * block + c;
              *dest++ = co < coutg ? weight(g, co, ci, y, x) : T(0);
            }
}

// One block of output channels over a whole image: `planes` is the group's padded input,
// `packed` the block's weights, `out` the block's first output channel of this image.
template <class T, int VW, int COB, class Stride>
void direct_block(const DirectGeometry& d, const T* planes, int64_t ph, int64_t pw, const T* packed, const T* bias,
                  int64_t channels, T* out, PlaneStrides out_strides, Stride sw) {
  constexpr int64_t L = kLanes<T>;
  const int64_t chunk = VW * L;
  for (int64_t r = 0; r < d.oh; ++r)
    for (int64_t q0 = 0; q0 < d.ow; q0 += chunk) {
      Vec<T> acc[COB][VW];
#pragma GCC unroll 16
      for (int c = 0; c < COB; ++c)
        for (int v = 0; v < VW; ++v) acc[c][v] = splat(bias && c < channels ? bias[c] : T(0));
      const T* wk = packed;
      for (int64_t ci = 0; ci < d.cin_g(); ++ci)
        for (int64_t y = 0; y < d.kh; ++y) {
          const T* row = planes + (ci * ph + r * d.stride_h + y * d.dilation_h) * pw + q0 * sw;
          for (int64_t x = 0; x < d.kw; ++x, wk += COB) {
            const T* p = row + x * d.dilation_w;
            Vec<T> in[VW];
            for (int v = 0; v < VW; ++v) in[v] = load_strided_lanes<T, L>(p + v * L * sw, sw);
#pragma GCC unroll 16
            for (int c = 0; c < COB; ++c) {
              const Vec<T> wv = splat(wk[c]);
              for (int v = 0; v < VW; ++v) acc[c][v] = fmadd(wv, in[v], acc[c][v]);
            }
          }
        }
      const int64_t valid = std::min(chunk, d.ow - q0);
      T* first = out + r * out_strides.row + q0 * out_strides.column;
      for (int c = 0; c < COB && c < channels; ++c) {
        T* dst = first + c * out_strides.channel;
        for (int v = 0; v < VW; ++v) {
          const int64_t lanes = std::min(L, valid - v * L);
          if (out_strides.column == 1 && lanes == L) {
            std::memcpy(dst + v * L, &acc[c][v], sizeof(Vec<T>));
          } else {
            for (int64_t t = 0; t < lanes; ++t) dst[(v * L + t) * out_strides.column] = acc[c][v][t];
          }
        }
      }
    }
}

// Calls fn(VW, COB) with both as compile-time constants.
template <class T, class F>
void with_direct_block(int vectors, int64_t block, F&& fn) {
  auto with_block = [&](auto vw) {
    constexpr int kMax = kDirectAccumulators / decltype(vw)::value;
    auto call = [&](auto cob) {
      // The plan sizes the block within the budget (DirectGeometry::cout_block).
      if constexpr (decltype(cob)::value <= kMax)
        fn(vw, cob);
      else
        throw_unexecutable_conv("a direct block beyond this ISA's registers");
    };
    switch (block) {
      case 1:
        return call(std::integral_constant<int, 1>());
      case 2:
        return call(std::integral_constant<int, 2>());
      case 4:
        return call(std::integral_constant<int, 4>());
      case 8:
        return call(std::integral_constant<int, 8>());
      default:
        return call(std::integral_constant<int, 16>());
    }
  };
  if (vectors == 1)
    with_block(std::integral_constant<int, 1>());
  else
    with_block(std::integral_constant<int, 2>());
}

// The direct forward and dx: the packed weights of every group (shared), and per task (one image
// and group) the group's padded input planes on its thread (kTile).
template <class T>
struct DirectWorkspace {
  int64_t tasks, packed, planes;
  explicit DirectWorkspace(const DirectGeometry& d)
      : tasks(d.n * d.groups),
        packed(saturating_product({d.groups, round_up(d.cout_g(), d.cout_block<T>()), d.taps()})),
        planes(saturating_product({d.cin_g(), d.padded_h(), d.padded_w<T>()})) {}
  void add_to(WorkspaceTally& tally) const {
    tally.shared(kPackedWeights, elements_bytes<T>(packed));
    tally.per_thread(kTile, elements_bytes<T>(planes), tasks);
  }
};

// out = conv(in) (+ bias) for the geometry d; `packed` from pack_direct_weights with block
// d.cout_block<T>().
template <class T>
void direct_convolution(const DirectGeometry& d, const T* in, const T* packed, const T* bias, T* out, Runner& r) {
  const int64_t cing = d.cin_g(), coutg = d.cout_g(), block = d.cout_block<T>(), blocks = ceil_div(coutg, block);
  const int64_t ph = d.padded_h(), pw = d.padded_w<T>();
  const PlaneStrides in_strides = plane_strides(d.layout, d.cin, d.h, d.w);
  const PlaneStrides out_strides = plane_strides(d.layout, d.cout, d.oh, d.ow);
  const int64_t in_image = d.cin * d.h * d.w, out_image = d.cout * d.oh * d.ow;
  const int vectors = d.vectors<T>();
  const DirectWorkspace<T> ws(d);
  parallel_for(r, ws.tasks, [&](int64_t task, int thread) {
    const int64_t n = task / d.groups, g = task % d.groups;
    T* planes = scratch_of<T>(r, thread, kTile, ws.planes);
    pad_planes(planes, ph, pw, in + n * in_image + g * cing * in_strides.channel, in_strides, cing, d.h, d.w, d.pad_top,
               d.pad_left);
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t co = g * coutg + b * block;
      const T* wb = packed + (g * blocks + b) * cing * d.kh * d.kw * block;
      const T* bb = bias ? bias + co : nullptr;
      T* ob = out + n * out_image + co * out_strides.channel;
      const int64_t channels = std::min(block, coutg - b * block);
      with_stride(d.stride_w, [&](auto sw) {
        // The plan takes the direct path for strides 1 and 2 only (direct_fits).
        if constexpr (!std::is_same_v<decltype(sw), int64_t>)
          with_direct_block<T>(vectors, block, [&](auto vw, auto cob) {
            direct_block<T, vw.value, cob.value>(d, planes, ph, pw, wb, bb, channels, ob, out_strides, sw);
          });
        else
          throw_unexecutable_conv("a direct convolution with stride above 2");
      });
    }
  });
}

template <class T>
void direct_forward(const ConvShape& s, const T* x, const T* w, const T* b, T* y, Runner& r) {
  const DirectGeometry d = forward_geometry(s);
  const int64_t block = d.cout_block<T>();
  T* packed = scratch_of<T>(r, r.num_threads(), kPackedWeights, DirectWorkspace<T>(d).packed);
  pack_direct_weights(packed, d, block, [&](int64_t g, int64_t co, int64_t ci, int64_t ky, int64_t kx) {
    return w[weight_index(s, g, co, ci, ky, kx)];
  });
  direct_convolution(d, x, packed, b, y, r);
}

// dx for stride 1: dx = conv(dy, w') with w'(co', ci', ky, kx) = w(ci', co', KH-1-ky, KW-1-kx).
template <class T>
void direct_backward_input(const ConvShape& s, const T* dy, const T* w, T* dx, Runner& r) {
  const DirectGeometry d = backward_input_geometry(s);
  const int64_t block = d.cout_block<T>();
  T* packed = scratch_of<T>(r, r.num_threads(), kPackedWeights, DirectWorkspace<T>(d).packed);
  pack_direct_weights(packed, d, block, [&](int64_t g, int64_t co, int64_t ci, int64_t ky, int64_t kx) {
    return w[weight_index(s, g, ci, co, s.kh - 1 - ky, s.kw - 1 - kx)];
  });
  direct_convolution(d, dy, packed, static_cast<const T*>(nullptr), dx, r);
}

// dw(co, tap) = sum over images and output pixels of x(tap's input at the pixel) * dy(co, pixel).
// Per image, dy is transposed to pixel-major rows of the group's channels (a vector or a few,
// zero past the last channel); then for a block of taps the accumulators acc[tap][channel
// vector] stay in registers over every pixel, each step one broadcast of x and one FMA per
// channel vector, like the GEMM micro-kernel with taps as rows and channels as columns.
template <class T, int CV, int TB>
void direct_filter_block(const T* planes, const int64_t* tap_offset, int64_t taps, const T* grads,
                         const DirectGeometry& d, int64_t pw, T* acc_out) {
  constexpr int64_t L = kLanes<T>;
  Vec<T> acc[TB][CV];
#pragma GCC unroll 32
  for (int t = 0; t < TB; ++t)
    for (int v = 0; v < CV; ++v) acc[t][v] = Vec<T>{};
  int64_t offset[TB];
  for (int t = 0; t < TB; ++t) offset[t] = t < taps ? tap_offset[t] : 0;  // spare taps read a valid element
  for (int64_t oy = 0; oy < d.oh; ++oy)
    for (int64_t ox = 0; ox < d.ow; ++ox) {
      const T* xp = planes + oy * d.stride_h * pw + ox * d.stride_w;
      const T* gp = grads + (oy * d.ow + ox) * CV * L;
      Vec<T> g[CV];
      for (int v = 0; v < CV; ++v) g[v] = load_lanes<T, L>(gp + v * L);
#pragma GCC unroll 32
      for (int t = 0; t < TB; ++t) {
        const Vec<T> xv = splat(xp[offset[t]]);
        for (int v = 0; v < CV; ++v) acc[t][v] = fmadd(xv, g[v], acc[t][v]);
      }
    }
  for (int64_t t = 0; t < taps; ++t)
    for (int v = 0; v < CV; ++v) std::memcpy(acc_out + (t * CV + v) * L, &acc[t][v], sizeof(Vec<T>));
}

// The direct dw's register block: CV, the channel vectors, the smallest power of two that holds
// the group's channels (0 beyond 8, which direct_fits never sends here); TB, the taps per
// block, the budget's full or two-thirds or half share, whichever wastes least on the last block
// (a block always computes TB taps: 25 taps as 24 + 1 would cost 48, as 16 + 9 costs 32).
struct FilterBlock {
  int cv, tb;
};

constexpr int filter_block_full(int cv) { return std::max(1, kDirectFilterAccumulators / cv); }
constexpr int filter_block_two_thirds(int cv) { return std::max(1, filter_block_full(cv) * 2 / 3); }
constexpr int filter_block_half(int cv) { return std::max(1, filter_block_full(cv) / 2); }

inline FilterBlock filter_block(int64_t channel_vectors, int64_t taps) {
  const int cv = channel_vectors <= 1   ? 1
                 : channel_vectors <= 2 ? 2
                 : channel_vectors <= 4 ? 4
                 : channel_vectors <= 8 ? 8
                                        : 0;
  if (cv == 0) return FilterBlock{0, 0};
  const int full = filter_block_full(cv), two_thirds = filter_block_two_thirds(cv), half = filter_block_half(cv);
  // Cost per pixel: TB FMAs per block plus about two for the block's own loads and loop.
  auto cost = [&](int64_t tb) { return ceil_div(taps, tb) * (tb + 2); };
  if (cost(full) <= std::min(cost(two_thirds), cost(half))) return FilterBlock{cv, full};
  return FilterBlock{cv, cost(two_thirds) <= cost(half) ? two_thirds : half};
}

// Calls fn(CV, TB) with the block's values as compile-time constants.
template <class T, class F>
void with_filter_block(FilterBlock block, F&& fn) {
  auto call = [&](auto cv) {
    constexpr int CV = decltype(cv)::value;
    if (block.tb == filter_block_full(CV))
      fn(cv, std::integral_constant<int, filter_block_full(CV)>());
    else if (block.tb == filter_block_two_thirds(CV))
      fn(cv, std::integral_constant<int, filter_block_two_thirds(CV)>());
    else
      fn(cv, std::integral_constant<int, filter_block_half(CV)>());
  };
  switch (block.cv) {
    case 1:
      return call(std::integral_constant<int, 1>());
    case 2:
      return call(std::integral_constant<int, 2>());
    case 4:
      return call(std::integral_constant<int, 4>());
    case 8:
      return call(std::integral_constant<int, 8>());
    default:
      throw_unexecutable_conv("a direct dw with more than 8 channel vectors");
  }
  static_assert(kDirectMaxCout <= 8 * kLanes<T>, "CV = 8 must hold every channel of a group");
}

// The direct dw: a table of tap offsets (shared), the per-thread partials, and per task (one
// image and group) the padded input planes (kTile) and the transposed dy with TB rows of block
// sums after it (kPackB) on its thread.
template <class T>
struct DirectFilterWorkspace {
  FilterBlock block;
  int64_t tasks, tap_table_bytes, planes, row, grads;
  explicit DirectFilterWorkspace(const DirectGeometry& d)
      : block(filter_block(ceil_div(d.cout_g(), kLanes<T>), d.taps())),
        tasks(d.n * d.groups),
        tap_table_bytes(saturating_product({2, d.taps(), int64_t(sizeof(int64_t))})),
        planes(saturating_product({d.cin_g(), d.padded_h(), d.padded_w<T>()})),
        row(block.cv * kLanes<T>),
        grads(saturating_product({saturating_sum(d.oh * d.ow, block.tb), row})) {}
  void add_to(const ConvShape& s, WorkspaceTally& tally) const {
    tally.shared(kPackedWeights, tap_table_bytes);
    Partials<T>::add_to(s.w_size(), s.cout, false, tally);
    tally.per_thread(kTile, elements_bytes<T>(planes), tasks);
    tally.per_thread(kPackB, elements_bytes<T>(grads), tasks);
  }
};

template <class T>
void direct_backward_filter(const ConvShape& s, const T* dy, const T* x, T* dw, T* db, Runner& r) {
  constexpr int64_t L = kLanes<T>;
  const DirectGeometry d = forward_geometry(s);
  const int64_t cing = d.cin_g(), coutg = d.cout_g(), ph = d.padded_h(), pw = d.padded_w<T>();
  const int64_t taps = d.taps();
  const DirectFilterWorkspace<T> ws(d);
  const PlaneStrides in_strides = plane_strides(d.layout, d.cin, d.h, d.w);
  const PlaneStrides out_strides = plane_strides(d.layout, d.cout, d.oh, d.ow);
  const int64_t in_image = d.cin * d.h * d.w, out_image = d.cout * d.oh * d.ow;
  // Per tap: its offset inside the padded planes relative to a pixel's first input, and where
  // its weights for group 0, channel 0 sit in dw (channels follow `channel_step` apart).
  int64_t* tap_offset =
      reinterpret_cast<int64_t*>(r.scratch(r.num_threads(), kPackedWeights, checked_bytes(ws.tap_table_bytes, 1)));
  int64_t* tap_weight = tap_offset + taps;
  for (int64_t ci = 0, t = 0; ci < cing; ++ci)
    for (int64_t ky = 0; ky < d.kh; ++ky)
      for (int64_t kx = 0; kx < d.kw; ++kx, ++t) {
        tap_offset[t] = (ci * ph + ky * d.dilation_h) * pw + kx * d.dilation_w;
        tap_weight[t] = weight_index(s, 0, 0, ci, ky, kx);
      }
  const int64_t channel_step = weight_index(s, 0, 1, 0, 0, 0), group_step = weight_index(s, 1, 0, 0, 0, 0);
  Partials<T> partials{r, dw, db, s.w_size(), s.cout};
  partials.zero();
  with_filter_block<T>(ws.block, [&](auto cv, auto tb) {
    constexpr int CV = decltype(cv)::value, TB = decltype(tb)::value;
    const int64_t row = CV * L;  // one pixel's channels in the transposed dy
    parallel_for(r, ws.tasks, [&](int64_t task, int thread) {
      const int64_t n = task / d.groups, g = task % d.groups;
      T* planes = scratch_of<T>(r, thread, kTile, ws.planes);
      T* grads = scratch_of<T>(r, thread, kPackB, ws.grads);
      T* block_sums = grads + d.oh * d.ow * row;  // TB x row
      pad_planes(planes, ph, pw, x + n * in_image + g * cing * in_strides.channel, in_strides, cing, d.h, d.w,
                 d.pad_top, d.pad_left);
      // Transposed dy, `row` elements per pixel: pad_planes over one "plane" whose rows are the
      // pixels (in either layout a pixel's stride is the column stride) and columns the channels.
      const T* dy_group = dy + n * out_image + g * coutg * out_strides.channel;
      pad_planes(grads, d.oh * d.ow, row, dy_group, PlaneStrides{0, out_strides.column, out_strides.channel}, 1,
                 d.oh * d.ow, coutg, 0, 0);
      T* dw_part = partials.weights(thread);
      for (int64_t t0 = 0; t0 < taps; t0 += TB) {
        const int64_t count = std::min<int64_t>(TB, taps - t0);
        direct_filter_block<T, CV, TB>(planes, tap_offset + t0, count, grads, d, pw, block_sums);
        for (int64_t t = 0; t < count; ++t) {
          T* dst = dw_part + tap_weight[t0 + t] + g * group_step;
          for (int64_t c = 0; c < coutg; ++c) dst[c * channel_step] += block_sums[t * row + c];
        }
      }
      if (db) {
        T* db_part = partials.bias(thread);
        for (int64_t c = 0; c < coutg; ++c) {
          T sum = T(0);
          for (int64_t p = 0; p < d.oh * d.ow; ++p) sum += grads[p * row + c];
          db_part[g * coutg + c] += sum;
        }
      }
    });
  });
  partials.reduce();
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
