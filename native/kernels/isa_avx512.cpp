// The avx512 kernels. The build compiles this file alone with the matching -m flags; the runtime
// calls into it only after cpuid and XGETBV say the CPU and OS support them.
#include "isa/config.hpp"

#if defined(CONVKIT_ISA_AVX512)
#include "kernel_table.hpp"

namespace convkit {
const KernelTable* kernel_table_avx512() {
  static const KernelTable table = avx512::make_table("avx512");
  return &table;
}
}  // namespace convkit
#else
// Built without the avx512 flags (not x86-64): the runtime sees no such table.
#include "kernels.hpp"

namespace convkit {
const KernelTable* kernel_table_avx512() { return nullptr; }
}  // namespace convkit
#endif
