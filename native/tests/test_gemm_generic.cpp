// The generic GEMM kernels for test_gemm, built with the generic unit's flags.
#include "../kernels/isa/config.hpp"
#include "gemm_kernels.hpp"

#if defined(CONVKIT_ISA_GENERIC)
#include "gemm_kernels_isa.hpp"

const convkit_test::GemmKernelSet* convkit_test::gemm_kernels_generic() {
  return convkit::generic::gemm_kernel_set("generic");
}
#else
// Built without the generic flags (not x86-64): no such table.
const convkit_test::GemmKernelSet* convkit_test::gemm_kernels_generic() { return nullptr; }
#endif
