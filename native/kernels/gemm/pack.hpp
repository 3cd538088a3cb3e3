// Packing of GEMM operands into the panels the micro-kernel reads (layout: gemm/blocking.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "checked.hpp"
#include "common.hpp"
#include "gemm/blocking.hpp"
#include "isa/config.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// Zero rows [rows, MR) of an A panel (the micro-kernel always computes MR rows); its rows lie
// KC elements apart, or `ld` apart in a compactly packed k block (pack_a_full).
template <class T>
void zero_a_rows(T* panel, int rows, int64_t kc, int64_t ld = Blocking<T>::KC) {
  for (int i = rows; i < Blocking<T>::MR; ++i) std::memset(panel + i * ld, 0, sizeof(T) * size_t(kc));
}

// One A panel from a strided matrix: panel(i, k) = src[i*rs + k*cs] for i < rows, 0 beyond;
// row i at dest + i*KC (or i*ld).
template <class T>
void pack_a_panel(T* dest, const T* src, int64_t rs, int64_t cs, int rows, int64_t kc, int64_t ld = Blocking<T>::KC) {
  zero_a_rows(dest, rows, kc, ld);
  if (cs == 1) {
    for (int i = 0; i < rows; ++i) std::memcpy(dest + i * ld, src + i * rs, sizeof(T) * size_t(kc));
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int i = 0; i < rows; ++i) dest[i * ld + k] = src[i * rs + k * cs];
  }
}

// One B panel from a strided matrix: panel(k, j) = src[k*rs + j*cs] for j < cols, 0 beyond.
template <class T>
void pack_b_panel(T* dest, const T* src, int64_t rs, int64_t cs, int cols, int64_t kc) {
  constexpr int NR = Blocking<T>::NR;
  for (int64_t k = 0; k < kc; ++k) {
    T* d = dest + k * NR;
    const T* s = src + k * rs;
    if (cs == 1) {
      for (int j = 0; j < cols; ++j) d[j] = s[j];
    } else {
      for (int j = 0; j < cols; ++j) d[j] = s[j * cs];
    }
    for (int j = cols; j < NR; ++j) d[j] = T(0);
  }
}

// A block of `rows` rows (as consecutive MR panels) from a strided matrix.
template <class T>
void pack_a_block(T* dest, const T* src, int64_t rs, int64_t cs, int64_t rows, int64_t kc) {
  constexpr int MR = Blocking<T>::MR;
  for (int64_t i = 0; i < rows; i += MR)
    pack_a_panel(dest + i * Blocking<T>::KC, src + i * rs, rs, cs, int(std::min<int64_t>(MR, rows - i)), kc);
}

// A block of `cols` columns (as consecutive NR panels) from a strided matrix.
template <class T>
void pack_b_block(T* dest, const T* src, int64_t rs, int64_t cs, int64_t cols, int64_t kc) {
  constexpr int NR = Blocking<T>::NR;
  for (int64_t j = 0; j < cols; j += NR)
    pack_b_panel(dest + j * kc, src + j * cs, rs, cs, int(std::min<int64_t>(NR, cols - j)), kc);
}

// Packs a whole strided matrix B[K x N] in KC-deep blocks: block kb (rows k0..k0+kc) starts at
// k0 * round_up(N, NR); within it, NR panels as in pack_b_block. Used for weights.
template <class T>
int64_t packed_b_size(int64_t K, int64_t N) {
  return checked_elements({K, round_up(N, Blocking<T>::NR)});
}

// Packs a whole strided matrix A[M x K] in KC-deep blocks, compactly: block kb (columns k0..k0+kc)
// starts at k0 * round_up(M, MR); within it, MR-row panels whose rows lie kc apart (pass kc as
// macro_kernel's lda). Rows of KC would make a short K (a grouped layer's few channels per
// group) cost KC/K times the weights.
template <class T>
int64_t packed_a_size(int64_t M, int64_t K) {
  return checked_elements({K, round_up(M, Blocking<T>::MR)});
}

// Fill `dest` with every KC block of B, in parallel over (k block, panel).
template <class T>
void pack_b_full(T* dest, const T* src, int64_t rs, int64_t cs, int64_t K, int64_t N, Runner& runner) {
  constexpr int NR = Blocking<T>::NR;
  const int64_t KC = Blocking<T>::KC;
  const int64_t kblocks = ceil_div(K, KC), panels = ceil_div(N, NR), np = round_up(N, NR);
  parallel_for(runner, kblocks * panels, [&](int64_t task, int) {
    const int64_t k0 = task / panels * KC, j = task % panels * NR;
    const int64_t kc = std::min(KC, K - k0);
    pack_b_panel(dest + k0 * np + j * kc, src + k0 * rs + j * cs, rs, cs, int(std::min<int64_t>(NR, N - j)), kc);
  });
}

template <class T>
void pack_a_full(T* dest, const T* src, int64_t rs, int64_t cs, int64_t M, int64_t K, Runner& runner) {
  constexpr int MR = Blocking<T>::MR;
  const int64_t KC = Blocking<T>::KC;
  const int64_t kblocks = ceil_div(K, KC), panels = ceil_div(M, MR), mp = round_up(M, MR);
  parallel_for(runner, kblocks * panels, [&](int64_t task, int) {
    const int64_t k0 = task / panels * KC, i = task % panels * MR;
    const int64_t kc = std::min(KC, K - k0);
    pack_a_panel(dest + k0 * mp + i * kc, src + i * rs + k0 * cs, rs, cs, int(std::min<int64_t>(MR, M - i)), kc, kc);
  });
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
