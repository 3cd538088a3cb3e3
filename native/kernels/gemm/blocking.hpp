// GEMM blocking of the ISA being compiled, and the task split shared by the GEMM drivers.
//
// C[M x N] (row-major, row stride ldc) = A[M x K] * B[K x N], blocked BLIS-style:
// - A is packed into panels of MR rows of stride KC: element (i, k) of a panel at a[i*KC + k];
//   rows past M are zero. A block of mc rows is ceil(mc/MR) consecutive panels of MR*KC
//   elements. The micro-kernel takes its A rows as an ARows view, so a caller whose rows
//   already lie in memory at a fixed stride (the NHWC forward's input bands) skips the packing.
// - B is packed into panels of NR columns: element (k, j) at b[k*NR + j]; columns past N are
//   zero. A block of nc columns is ceil(nc/NR) panels of kc*NR elements.
// The micro-kernel keeps an MR x NR tile of C in registers; the macro-kernel walks the B panels
// (each stays in L1 while every A panel of the block, resident in L2, streams past it).
#pragma once

#include <algorithm>
#include <cstdint>

#include "isa/config.hpp"
#include "ukernel/ukernel.hpp"

namespace convkit {
namespace CONVKIT_ISA {

template <class T>
struct Blocking {
  static constexpr int MR = Ukernel<T>::MR;
  static constexpr int NR = Ukernel<T>::NR;
  // One B panel (KC*NR elements) fills about 32 KiB, inside L1 with room for the A stream;
  // an A block (MC*KC) and a B block (KC*NC) fit together in a 1-2 MiB L2.
  static constexpr int64_t KC = Ukernel<T>::KC;
  static constexpr int64_t MC = MR * 12;
  static constexpr int64_t NC = NR * 12;
};

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
inline int64_t ceil_div(int64_t v, int64_t m) { return (v + m - 1) / m; }

// Rows per task when `rows` rows (in each of `groups` independent groups) are cut into blocks of
// at most `max_rows`, in whole `unit`s. With many tasks, max_rows. With few (a small batch), the
// pool's static split (each thread a contiguous run of tasks) can leave one thread with much more
// work: there the block, between max_rows and a quarter of it, is the one whose busiest thread
// has the least work (196 pixels on 2 threads: 98 + 98 instead of 168 + 28).
inline int64_t task_rows(int64_t rows, int64_t groups, int64_t max_rows, int64_t unit, int threads) {
  const int64_t units = (rows + unit - 1) / unit, max_units = max_rows / unit;
  if (threads <= 1 || groups * ((units + max_units - 1) / max_units) >= 8 * int64_t(threads)) return max_rows;
  int64_t best = max_units, best_load = INT64_MAX;
  for (int64_t u = max_units; u >= std::max<int64_t>(1, max_units / 4); --u) {
    const int64_t per_group = (units + u - 1) / u, tasks = groups * per_group;
    int64_t load = 0;
    for (int t = 0; t < threads; ++t) {
      int64_t sum = 0;
      for (int64_t k = tasks * t / threads; k < tasks * (t + 1) / threads; ++k)
        sum += std::min(u, units - k % per_group * u);
      load = std::max(load, sum);
    }
    if (load < best_load) best = u, best_load = load;  // ties keep the larger block
  }
  return best * unit;
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
