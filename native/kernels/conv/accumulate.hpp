// How the passes that accumulate stay race-free and reproducible: col2im scatters in bands
// that never overlap within a phase, and the weight gradients sum per-thread partials in thread
// order, so a given thread count always gives the same bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common.hpp"
#include "gemm/blocking.hpp"
#include "isa/config.hpp"
#include "plan.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// dx = col2im(dcol) with dcol = dY * W^T per tile. Tiles are bands of output rows of one image;
// a band of `band_rows` rows touches input rows that the next-but-one band never touches, so
// all even bands run in parallel, then all odd bands: no races, and every dx element receives
// its contributions in the same order whatever the thread count.
inline int64_t col2im_band_rows(const ConvShape& s) { return (s.kh - 1) * s.dilation_h / s.stride_h + 1; }

// Bands per image in phase 0 (the even ones) or 1 (the odd ones); a phase has n times as many
// tasks.
inline int64_t col2im_phase_bands(const ConvShape& s, int64_t phase) {
  return (ceil_div(s.oh, col2im_band_rows(s)) - phase + 1) / 2;
}

template <class F>
void for_each_band_two_phase(Runner& r, const ConvShape& s, F&& band_fn) {
  const int64_t rows = col2im_band_rows(s);
  for (int64_t phase = 0; phase < 2; ++phase) {
    const int64_t per_image = col2im_phase_bands(s, phase);
    if (per_image <= 0) continue;
    parallel_for(r, s.n * per_image, [&](int64_t task, int thread) {
      const int64_t n = task / per_image, band = phase + 2 * (task % per_image);
      band_fn(n, band * rows, std::min(s.oh, (band + 1) * rows), thread);
    });
  }
}

template <class T>
void zero_fill(T* data, int64_t count, Runner& r) {
  const int64_t chunk = 1 << 16, chunks = ceil_div(count, chunk);
  parallel_for(r, chunks, [&](int64_t task, int) {
    const int64_t begin = task * chunk;
    std::memset(data + begin, 0, sizeof(T) * size_t(std::min(chunk, count - begin)));
  });
}

// Every thread accumulates into its own partial dw (thread 0's is dw itself) and db; the
// partials are then added in thread order, so a given thread count always gives the same bits.
// With `transposed_rows` set, the partials are the transpose of dw ([rows x w_size/rows], dw
// being [w_size/rows x rows]): every thread then has a scratch partial, and reduce() adds them
// into dw through the transpose.
template <class T>
struct Partials {
  Runner& r;
  T* dw;
  T* db;
  int64_t w_size, b_size;
  int64_t transposed_rows = 0;

  // The partials' workspace: one task per thread zeroes them, so every thread requests them
  // (thread 0 only when transposed); the bias partials count as if db were requested.
  static void add_to(int64_t w_size, int64_t b_size, bool transposed, WorkspaceTally& tally) {
    tally.per_thread(kPartialW, elements_bytes<T>(w_size), tally.threads(), !transposed);
    tally.per_thread(kPartialB, elements_bytes<T>(b_size), tally.threads(), true);
  }

  T* weights(int thread) {
    return thread == 0 && transposed_rows == 0 ? dw : scratch_of<T>(r, thread, kPartialW, w_size);
  }
  T* bias(int thread) { return thread == 0 ? db : scratch_of<T>(r, thread, kPartialB, b_size); }

  void zero() {
    // One task per thread: with the static split, task t runs on thread t.
    parallel_for(r, r.num_threads(), [&](int64_t, int thread) {
      std::memset(weights(thread), 0, sizeof(T) * size_t(w_size));
      if (db) std::memset(bias(thread), 0, sizeof(T) * size_t(b_size));
    });
  }

  void reduce() {
    const int threads = r.num_threads();
    if (threads > kMaxRunnerThreads) throw_unexecutable_conv("more threads than kMaxRunnerThreads");
    const T* parts[kMaxRunnerThreads];
    for (int t = 0; t < threads; ++t) parts[t] = weights(t);
    if (transposed_rows > 0) {
      // dw[j][i] = sum over threads of part[i][j], in 32x32 tiles so both sides stay in cache.
      constexpr int64_t tile = 32;
      const int64_t rows = transposed_rows, cols = w_size / rows;
      const int64_t row_tiles = ceil_div(rows, tile), col_tiles = ceil_div(cols, tile);
      parallel_for(r, row_tiles * col_tiles, [&](int64_t task, int) {
        const int64_t i0 = task / col_tiles * tile, j0 = task % col_tiles * tile;
        const int64_t i1 = std::min(rows, i0 + tile), j1 = std::min(cols, j0 + tile);
        // Summed along the partials' rows (contiguous, vectorised) into a tile in L1, then
        // written out transposed: strided loads straight from the partials cost far more (see
        // docs/decisions.md).
        T sums[tile][tile];
        for (int64_t i = i0; i < i1; ++i) {
          T* row = sums[i - i0];
          const T* first = parts[0] + i * cols;
          for (int64_t j = j0; j < j1; ++j) row[j - j0] = first[j];
          for (int t = 1; t < threads; ++t) {
            const T* part = parts[t] + i * cols;
            for (int64_t j = j0; j < j1; ++j) row[j - j0] += part[j];
          }
        }
        for (int64_t j = j0; j < j1; ++j)
          for (int64_t i = i0; i < i1; ++i) dw[j * rows + i] = sums[i - i0][j - j0];
      });
    } else {
      const int64_t chunk = 1 << 14, chunks = ceil_div(w_size, chunk);
      parallel_for(r, threads > 1 ? chunks : 0, [&](int64_t task, int) {
        const int64_t begin = task * chunk, end = std::min(w_size, begin + chunk);
        for (int t = 1; t < threads; ++t)
          for (int64_t e = begin; e < end; ++e) dw[e] += parts[t][e];
      });
    }
    if (db)
      for (int t = 1; t < threads; ++t) {
        const T* part = bias(t);
        for (int64_t e = 0; e < b_size; ++e) db[e] += part[e];
      }
  }
};

}  // namespace CONVKIT_ISA
}  // namespace convkit
