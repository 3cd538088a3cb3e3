// The GEMM macro-kernel: a block of C from packed (or in-place) A rows and a packed B block.
#pragma once

#include <algorithm>
#include <cstdint>

#include "gemm/blocking.hpp"
#include "isa/config.hpp"
#include "ukernel/a_rows.hpp"
#include "ukernel/ukernel.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// C[mc x nc] (+)= A * packed B block, where a_rows(i) is the micro-kernel's view (ARows) of
// rows i .. i+MR-1 of A. Bias (first k block only): bias_m[i] per row and/or bias_n[j] per column.
template <class T, class ARowsOf>
void macro_kernel_rows(int64_t mc, int64_t nc, int64_t kc, ARowsOf&& a_rows, const T* pb, T* c, int64_t ldc,
                       bool accumulate, const T* bias_m, const T* bias_n) {
  constexpr int MR = Blocking<T>::MR;
  constexpr int NR = Blocking<T>::NR;
  for (int64_t j = 0; j < nc; j += NR) {
    const int nr = int(std::min<int64_t>(NR, nc - j));
    const T* b_panel = pb + j * kc;
    for (int64_t i = 0; i < mc; i += MR) {
      const int mr = int(std::min<int64_t>(MR, mc - i));
      Ukernel<T>::run(a_rows(i), b_panel, c + i * ldc + j, ldc, mr, nr, accumulate, bias_m ? bias_m + i : nullptr,
                      bias_n ? bias_n + j : nullptr);
    }
  }
}

// The same for a packed A block (consecutive MR panels, rows KC apart, or `lda` apart in a
// compactly packed k block).
template <class T>
void macro_kernel(int64_t mc, int64_t nc, int64_t kc, const T* pa, const T* pb, T* c, int64_t ldc, bool accumulate,
                  const T* bias_m, const T* bias_n, int64_t lda = Blocking<T>::KC) {
  const KRun whole{0, kc};
  macro_kernel_rows(
      mc, nc, kc,
      [&](int64_t i) {
        return ARows<T>{pa + i * lda, lda, &whole, 1};
      },
      pb, c, ldc, accumulate, bias_m, bias_n);
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
