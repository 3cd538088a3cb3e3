// The avx2 kernels. The build compiles this file alone with the matching -m flags; the runtime
// calls into it only after cpuid and XGETBV say the CPU and OS support them.
#include "isa/config.hpp"

#if defined(CONVKIT_ISA_AVX2)
#include "kernel_table.hpp"

namespace convkit {
const KernelTable* kernel_table_avx2() {
  static const KernelTable table = avx2::make_table("avx2");
  return &table;
}
}  // namespace convkit
#else
// Built without the avx2 flags (not x86-64): the runtime sees no such table.
#include "kernels.hpp"

namespace convkit {
const KernelTable* kernel_table_avx2() { return nullptr; }
}  // namespace convkit
#endif
