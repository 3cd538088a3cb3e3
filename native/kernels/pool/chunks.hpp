// How the pooling kernels walk a span of outputs (columns in NCHW, channels in NHWC) in pieces
// that fit in vector registers, so that each output's running max or sum stays in a register
// across the window's taps instead of going through memory.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "isa/config.hpp"
#include "simd/simd.hpp"

namespace convkit {
namespace CONVKIT_ISA {
namespace pool_detail {

template <class T>
constexpr int64_t kChunk = int64_t(kPoolChunkBytes / sizeof(T));

// Calls fn(first, width) over [begin, end). Spans of a register or more go in chunks of
// kChunk<T> (compile-time width) and a run-time remainder, for the array code, which the compiler
// vectorises well. Narrower spans (a small image's rows, a few channels), for which that code
// compiles to scalar loops, go in power-of-two pieces (14 = 8 + 4 + 2) of compile-time width for
// the explicit-vector code (docs/decisions.md, "Pooling: array code for wide spans").
template <class T, int64_t Width, class F>
void for_small_pieces(int64_t first, int64_t end, F&& fn) {
  if (first + Width <= end) {
    fn(first, std::integral_constant<int64_t, Width>());
    first += Width;
  }
  if constexpr (Width > 1) {
    if (first < end) for_small_pieces<T, Width / 2>(first, end, fn);
  }
}

template <class T, class F>
void for_register_chunks(int64_t begin, int64_t end, F&& fn) {
  if (end - begin < kLanes<T>) {
    if constexpr ((kLanes<T>) > 1) for_small_pieces<T, kLanes<T> / 2>(begin, end, fn);
    return;
  }
  int64_t first = begin;
  for (; first + kChunk<T> <= end; first += kChunk<T>) fn(first, std::integral_constant<int64_t, kChunk<T>>());
  if (first < end) fn(first, end - first);
}

// True for the pieces for_small_pieces makes (a width type, so usable on run-time widths too).
template <class T, class Width>
constexpr bool is_small_piece() {
  if constexpr (std::is_same_v<Width, int64_t>)
    return false;
  else
    return Width::value < kLanes<T>;
}

// Running maxima (and their argmax) of W outputs, with PyTorch's rule: take v where it is greater
// or NaN, so the first maximum wins ties and a NaN propagates.
template <class T, int64_t W, bool kWithIndex>
struct MaxLanes {
  Lanes<T, W> best;
  Lanes<LaneIndex<T>, W> index;
  // -inf in every lane as 0 - inf: setting lanes one by one draws a false -Wmaybe-uninitialized.
  MaxLanes(const Lanes<LaneIndex<T>, W>& first_index)
      : best(Lanes<T, W>{} - std::numeric_limits<T>::infinity()), index(first_index) {}
  void update(const Lanes<T, W>& v, const Lanes<LaneIndex<T>, W>& at) {
    const auto take = (v > best) | (v != v);
    best = take ? v : best;
    if constexpr (kWithIndex) index = take ? at : index;
  }
};

template <class T, int64_t W>
Lanes<LaneIndex<T>, W> index_ramp(int64_t first, int64_t step) {
  Lanes<LaneIndex<T>, W> v;
  for (int64_t k = 0; k < W; ++k) v[k] = LaneIndex<T>(first + k * step);
  return v;
}

}  // namespace pool_detail
}  // namespace CONVKIT_ISA
}  // namespace convkit
