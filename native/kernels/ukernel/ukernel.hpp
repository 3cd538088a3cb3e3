// The GEMM micro-kernel of the ISA being compiled: Ukernel<T> with MR, NR, KC and
//   static void run(const ARows<T>& rows, const T* b, T* c, int64_t ldc, int mr, int nr,
//                   bool accumulate, const T* bias_m, const T* bias_n);
// which computes acc[i][j] = sum over the k steps of A row i (see ARows) times b[k*NR + j] (b: a
// packed B panel, gemm/pack.hpp, one row per k step in order), then
//   accumulate ? C += acc : C = acc + bias_m[i] + bias_n[j]   (either bias may be null)
// for the valid part i < mr, j < nr of the tile; C has row stride ldc. All MR rows of A are
// read, so rows past mr must be readable (packed panels zero them). KC is the packed A panel's
// row stride and the GEMM's k block.
#pragma once

#include "isa/config.hpp"

#if defined(CONVKIT_ISA_AVX512)
#include "ukernel/avx512.hpp"
#elif defined(CONVKIT_ISA_AVX2)
#include "ukernel/avx2.hpp"
#else
#include "ukernel/generic.hpp"
#endif
