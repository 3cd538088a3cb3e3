// The portable kernels: plain C++ built with the default flags; runs on any CPU. (A build whose
// default flags already target a wider ISA compiles that ISA's code here.)
#include "kernel_table.hpp"

namespace convkit {
const KernelTable* kernel_table_generic() {
  static const KernelTable table = CONVKIT_ISA::make_table("generic");
  return &table;
}
}  // namespace convkit
