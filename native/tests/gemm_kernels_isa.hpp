// Fills a GemmKernelSet (gemm_kernels.hpp) from the ISA this translation unit is compiled for.
// Included only by test_gemm_<isa>.cpp.
#pragma once

#include <cstdint>

#include "../kernels/gemm/blocking.hpp"
#include "../kernels/gemm/macro_kernel.hpp"
#include "../kernels/gemm/pack.hpp"
#include "../kernels/isa/config.hpp"
#include "../kernels/ukernel/ukernel.hpp"
#include "gemm_kernels.hpp"

namespace convkit {
namespace CONVKIT_ISA {

template <class T>
convkit_test::GemmKernels<T> gemm_kernels_of() {
  convkit_test::GemmKernels<T> k;
  k.mr = Ukernel<T>::MR;
  k.nr = Ukernel<T>::NR;
  k.kc = Ukernel<T>::KC;
  k.ukernel = &Ukernel<T>::run;
  k.pack_a_panel = &pack_a_panel<T>;
  k.pack_b_panel = &pack_b_panel<T>;
  k.pack_a_block = &pack_a_block<T>;
  k.pack_b_block = &pack_b_block<T>;
  k.packed_a_size = &packed_a_size<T>;
  k.packed_b_size = &packed_b_size<T>;
  k.pack_a_full = &pack_a_full<T>;
  k.pack_b_full = &pack_b_full<T>;
  k.macro_kernel = &macro_kernel<T>;
  return k;
}

inline const convkit_test::GemmKernelSet* gemm_kernel_set(const char* isa) {
  static const convkit_test::GemmKernelSet set{isa, gemm_kernels_of<float>(), gemm_kernels_of<double>()};
  return &set;
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
