// Portable micro-kernel: an MR x NR tile of C in a local array the compiler keeps in (SSE2)
// registers. Interface: see ukernel/ukernel.hpp.
#pragma once

#include <cstdint>

#include "isa/config.hpp"
#include "ukernel/a_rows.hpp"

namespace convkit {
namespace generic {

template <class T>
struct Ukernel {
  static constexpr int MR = kGemmRows;
  static constexpr int NR = kGemmColumns;
  static constexpr int64_t KC = 512;  // packed A panel row stride and the GEMM's k block

  static void run(const ARows<T>& rows, const T* b, T* c, int64_t ldc, int mr, int nr, bool accumulate, const T* bias_m,
                  const T* bias_n) {
    T acc[MR][NR] = {};
    for (int r = 0; r < rows.nruns; ++r) {
      const T* a = rows.a + rows.runs[r].offset;
      for (int64_t k = 0; k < rows.runs[r].length; ++k, ++a, b += NR)
        for (int i = 0; i < MR; ++i)
          for (int j = 0; j < NR; ++j) acc[i][j] += a[i * rows.lda] * b[j];
    }
    for (int i = 0; i < mr; ++i) {
      T* ci = c + i * ldc;
      if (accumulate) {
        for (int j = 0; j < nr; ++j) ci[j] += acc[i][j];
      } else {
        const T row_bias = bias_m ? bias_m[i] : T(0);
        for (int j = 0; j < nr; ++j) ci[j] = acc[i][j] + row_bias + (bias_n ? bias_n[j] : T(0));
      }
    }
  }
};

}  // namespace generic
}  // namespace convkit
