// The GEMM building blocks of one ISA (micro-kernel, packing, macro-kernel) as plain function
// pointers, so that test_gemm's checks are compiled once, without any ISA's flags, and call each
// ISA's code only through these tables: a check compiled with AVX-512 flags could otherwise lend
// the linker an AVX-512 copy of some std:: template for the generic code too.
#pragma once

#include <cstdint>

#include "../kernels/common.hpp"
#include "../kernels/ukernel/a_rows.hpp"

namespace convkit_test {

template <class T>
struct GemmKernels {
  int mr = 0, nr = 0;
  int64_t kc = 0;
  void (*ukernel)(const convkit::ARows<T>& rows, const T* b, T* c, int64_t ldc, int mr, int nr, bool accumulate,
                  const T* bias_m, const T* bias_n) = nullptr;
  void (*pack_a_panel)(T* dest, const T* src, int64_t rs, int64_t cs, int rows, int64_t kc, int64_t ld) = nullptr;
  void (*pack_b_panel)(T* dest, const T* src, int64_t rs, int64_t cs, int cols, int64_t kc) = nullptr;
  void (*pack_a_block)(T* dest, const T* src, int64_t rs, int64_t cs, int64_t rows, int64_t kc) = nullptr;
  void (*pack_b_block)(T* dest, const T* src, int64_t rs, int64_t cs, int64_t cols, int64_t kc) = nullptr;
  int64_t (*packed_a_size)(int64_t m, int64_t k) = nullptr;
  int64_t (*packed_b_size)(int64_t k, int64_t n) = nullptr;
  void (*pack_a_full)(T* dest, const T* src, int64_t rs, int64_t cs, int64_t m, int64_t k, convkit::Runner&) = nullptr;
  void (*pack_b_full)(T* dest, const T* src, int64_t rs, int64_t cs, int64_t k, int64_t n, convkit::Runner&) = nullptr;
  void (*macro_kernel)(int64_t mc, int64_t nc, int64_t kc, const T* pa, const T* pb, T* c, int64_t ldc, bool accumulate,
                       const T* bias_m, const T* bias_n, int64_t lda) = nullptr;
};

struct GemmKernelSet {
  const char* isa;
  GemmKernels<float> f32;
  GemmKernels<double> f64;
};

// Defined by test_gemm_<isa>.cpp, each built with that ISA's flags; null where the build has no
// such ISA (as kernel_table_<isa>() is).
const GemmKernelSet* gemm_kernels_generic();
const GemmKernelSet* gemm_kernels_avx2();
const GemmKernelSet* gemm_kernels_avx512();

}  // namespace convkit_test
