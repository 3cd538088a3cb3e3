// The avx512 GEMM kernels for test_gemm, built with the avx512 unit's flags.
#include "../kernels/isa/config.hpp"
#include "gemm_kernels.hpp"

#if defined(CONVKIT_ISA_AVX512)
#include "gemm_kernels_isa.hpp"

const convkit_test::GemmKernelSet* convkit_test::gemm_kernels_avx512() {
  return convkit::avx512::gemm_kernel_set("avx512");
}
#else
// Built without the avx512 flags (not x86-64): no such table.
const convkit_test::GemmKernelSet* convkit_test::gemm_kernels_avx512() { return nullptr; }
#endif
