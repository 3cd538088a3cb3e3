// The general matrix product behind `linear` (KernelOps::gemm).
#pragma once

#include <algorithm>
#include <cstdint>

#include "common.hpp"
#include "gemm/blocking.hpp"
#include "gemm/macro_kernel.hpp"
#include "gemm/pack.hpp"
#include "isa/config.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// The general entry (used by `linear`): B packed once for all threads, then tasks over
// (MC-row, NC-column) blocks of C so that small-M products still use every thread.
template <class T>
void gemm_on(const GemmShape& s, const T* a, const T* b, const T* bias, T* c, Runner& r) {
  const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC, NC = Blocking<T>::NC;
  const int64_t np = round_up(s.n, Blocking<T>::NR);
  T* packed_b = scratch_of<T>(r, r.num_threads(), kPackedWeights, packed_b_size<T>(s.k, s.n));
  pack_b_full(packed_b, b, s.b_row_stride, s.b_col_stride, s.k, s.n, r);
  const int64_t mblocks = ceil_div(s.m, MC), nblocks = ceil_div(s.n, NC);
  parallel_for(r, mblocks * nblocks, [&](int64_t task, int thread) {
    const int64_t m0 = task / nblocks * MC, n0 = task % nblocks * NC;
    const int64_t mc = std::min(MC, s.m - m0), nc = std::min(NC, s.n - n0);
    T* pa = scratch_of<T>(r, thread, kPackA, {MC, KC});
    for (int64_t k0 = 0; k0 < s.k; k0 += KC) {
      const int64_t kc = std::min(KC, s.k - k0);
      pack_a_block(pa, a + m0 * s.a_row_stride + k0 * s.a_col_stride, s.a_row_stride, s.a_col_stride, mc, kc);
      macro_kernel(mc, nc, kc, pa, packed_b + k0 * np + n0 * kc, c + m0 * s.n + n0, s.n, s.accumulate || k0 > 0,
                   static_cast<const T*>(nullptr), bias ? bias + n0 : nullptr);
    }
  });
}

template <class T>
void gemm(const GemmShape& s, const T* a, const T* b, const T* bias, T* c, Runner& runner) {
  with_sized_runner(runner, double(s.m) * double(s.n) * double(s.k), [&](Runner& r) { gemm_on(s, a, b, bias, c, r); });
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
