// Kernels for avx512. The build compiles this file alone with the matching -m flags; the runtime
// only calls into it after cpuid and XGETBV say the CPU and OS support them.
#include "isa_prelude.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>

namespace convkit {
namespace {
#include "ukernel_avx512.inl"
#include "ops.inl"
}  // namespace

const KernelTable* kernel_table_avx512() {
  static const KernelTable table = make_table("avx512");
  return &table;
}
}  // namespace convkit
#else
// Built without the avx512 flags (not x86-64): the runtime sees no such table.
namespace convkit {
const KernelTable* kernel_table_avx512() { return nullptr; }
}  // namespace convkit
#endif
