// The register-blocked GEMM micro-kernel of the SIMD ISAs, written once over a vector-traits
// class V (V::T element type, V::L lanes, load/store/fmadd/add/set1/zero). Interface: see
// ukernel/ukernel.hpp.
//
// The C tile is MR rows x two vectors, held in 2*MR registers for the whole k loop; each k step
// loads two vectors of the packed B panel and broadcasts one element from each of the MR rows of
// A. The rows are read through ceil(MR/3) base pointers, row 3g+m at base g plus m*lda, so that
// every broadcast is one base+index address (the compiler folds it into the FMA) and the
// pointers fit in registers.
#pragma once

#include <algorithm>
#include <cstdint>

#include "isa/config.hpp"
#include "ukernel/a_rows.hpp"

namespace convkit {
namespace CONVKIT_ISA {

template <class V, int Rows>
struct VectorUkernel {
  using T = typename V::T;
  using Vec = typename V::Vec;
  static constexpr int MR = Rows;
  static constexpr int NR = 2 * V::L;
  // Packed A panel row stride and k block: one B panel (KC*NR elements) fills about 32 KiB of L1.
  static constexpr int64_t KC = std::min<int64_t>(512, std::max<int64_t>(64, 32768 / (NR * int64_t(sizeof(T)))));

  static void run(const ARows<T>& rows, const T* b, T* c, int64_t ldc, int mr, int nr, bool accumulate, const T* bias_m,
                  const T* bias_n) {
    constexpr int kBases = (MR + 2) / 3;
    const int64_t lda = rows.lda;
    Vec acc0[MR], acc1[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) acc0[i] = acc1[i] = V::zero();
    for (int r = 0; r < rows.nruns; ++r) {
      const T* base[kBases];
#pragma GCC unroll 8
      for (int g = 0; g < kBases; ++g) base[g] = rows.a + rows.runs[r].offset + 3 * g * lda;
      for (int64_t k = rows.runs[r].length; k > 0; --k, b += NR) {
        const Vec b0 = V::load(b), b1 = V::load(b + V::L);
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
          const Vec ai = V::set1(base[i / 3][(i % 3) * lda]);
          acc0[i] = V::fmadd(ai, b0, acc0[i]);
          acc1[i] = V::fmadd(ai, b1, acc1[i]);
        }
#pragma GCC unroll 8
        for (int g = 0; g < kBases; ++g) ++base[g];
      }
    }
    alignas(64) T tile[NR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      if (i >= mr) break;
      T* ci = c + i * ldc;
      if (nr == NR) {
        Vec v0 = acc0[i], v1 = acc1[i];
        if (accumulate) {
          v0 = V::add(v0, V::load(ci));
          v1 = V::add(v1, V::load(ci + V::L));
        } else {
          if (bias_n) {
            v0 = V::add(v0, V::load(bias_n));
            v1 = V::add(v1, V::load(bias_n + V::L));
          }
          if (bias_m) {
            const Vec row_bias = V::set1(bias_m[i]);
            v0 = V::add(v0, row_bias);
            v1 = V::add(v1, row_bias);
          }
        }
        V::store(ci, v0);
        V::store(ci + V::L, v1);
      } else {
        V::store(tile, acc0[i]);
        V::store(tile + V::L, acc1[i]);
        const T row_bias = bias_m ? bias_m[i] : T(0);
        for (int j = 0; j < nr; ++j)
          ci[j] = accumulate ? ci[j] + tile[j] : tile[j] + row_bias + (bias_n ? bias_n[j] : T(0));
      }
    }
  }
};

}  // namespace CONVKIT_ISA
}  // namespace convkit
