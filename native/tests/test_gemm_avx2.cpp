// The avx2 GEMM kernels for test_gemm, built with the avx2 unit's flags.
#include "../kernels/isa/config.hpp"
#include "gemm_kernels.hpp"

#if defined(CONVKIT_ISA_AVX2)
#include "gemm_kernels_isa.hpp"

const convkit_test::GemmKernelSet* convkit_test::gemm_kernels_avx2() { return convkit::avx2::gemm_kernel_set("avx2"); }
#else
// Built without the avx2 flags (not x86-64): no such table.
const convkit_test::GemmKernelSet* convkit_test::gemm_kernels_avx2() { return nullptr; }
#endif
