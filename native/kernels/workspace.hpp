// Per-thread workspaces of the kernels: the scratch slots and the checked way to get one.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "checked.hpp"
#include "common.hpp"
#include "isa/config.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// Workspaces are sized through checked_bytes / checked_elements (checked.hpp): a size that
// would wrap is ERR_TOO_LARGE, never a small buffer that the kernel overruns.
template <class T>
T* scratch_of(Runner& r, int thread, int slot, int64_t elements) {
  return static_cast<T*>(r.scratch(thread, slot, checked_bytes(elements, sizeof(T))));
}

// The same, with the element count given as its factors.
template <class T>
T* scratch_of(Runner& r, int thread, int slot, std::initializer_list<int64_t> factors) {
  return scratch_of<T>(r, thread, slot, checked_elements(factors));
}

// Workspaces up to this many elements are always acceptable: path choices compare a
// workspace with the work it serves, and tiny layers may round up to more than a few times that.
constexpr int64_t kSmallWorkspace = int64_t(1) << 16;

// Scratch slots used below.
enum ScratchSlot {
  kPackedWeights = 0,
  kTile = 1,
  kPackA = 2,
  kPackB = 3,
  kPartialW = 4,
  kPartialB = 5,
  kBand = 6,
  kRuns = 7
};

}  // namespace CONVKIT_ISA
}  // namespace convkit
