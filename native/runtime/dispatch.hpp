// Picks the kernel table for this CPU once: the best ISA that cpuid and the OS's saved
// register state (XGETBV) allow, unless CONVKIT_ISA=avx512|avx2|generic forces one.
#pragma once

#include <string>
#include <vector>

#include "../kernels/kernels.hpp"

namespace convkit {

// Names of the kernel tables this CPU and build can run, best first (always ends in "generic").
std::vector<std::string> supported_isas();

// The table of that name if this CPU and build can run it, else null.
const KernelTable* kernel_table_named(const std::string& name);

// The table in use. Throws Error(ErrorCode::ERR_ISA) if CONVKIT_ISA names an unknown or unsupported ISA.
const KernelTable& active_kernels();

}  // namespace convkit
