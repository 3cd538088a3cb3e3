// Portable kernels: plain C++ built with the default flags; runs on any CPU.
#include "isa_prelude.hpp"

namespace convkit {
namespace {
#include "ukernel_generic.inl"
#include "ops.inl"
}  // namespace

const KernelTable* kernel_table_generic() {
  static const KernelTable table = make_table("generic");
  return &table;
}
}  // namespace convkit
