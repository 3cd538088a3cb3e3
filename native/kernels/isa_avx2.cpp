// Kernels for avx2. The build compiles this file alone with the matching -m flags; the runtime
// only calls into it after cpuid and XGETBV say the CPU and OS support them.
#include "isa_prelude.hpp"

#if defined(__AVX2__)
#include <immintrin.h>

namespace convkit {
namespace {
#include "ukernel_avx2.inl"
#include "ops.inl"
}  // namespace

const KernelTable* kernel_table_avx2() {
  static const KernelTable table = make_table("avx2");
  return &table;
}
}  // namespace convkit
#else
// Built without the avx2 flags (not x86-64): the runtime sees no such table.
namespace convkit {
const KernelTable* kernel_table_avx2() { return nullptr; }
}  // namespace convkit
#endif
