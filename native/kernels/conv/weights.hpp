// The GEMM forward's packed weights: packed once per call, or once by the caller for many
// calls (KernelOps::conv2d_pack_weights).
#pragma once

#include <cstdint>

#include "checked.hpp"
#include "common.hpp"
#include "gemm/pack.hpp"
#include "isa/config.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// The GEMM forward's weights, packed for every group: NHWC's HWIO is the [K x Coutg] B matrix
// (B panels), NCHW's OIHW the [Coutg x K] A matrix (A panels). The layout depends only on the
// weights' shape, groups and layout (and the ISA's tile), so a caller may pack once and pass the
// result to many forwards.
template <class T>
int64_t gemm_forward_weights_size(const ConvShape& s) {
  const int64_t K = s.kh * s.kw * s.cin_per_group(), coutg = s.cout_per_group();
  return checked_elements(
      {s.groups, s.layout == Layout::NHWC ? packed_b_size<T>(K, coutg) : packed_a_size<T>(coutg, K)});
}

template <class T>
void pack_gemm_forward_weights(const ConvShape& s, const T* w, T* packed, Runner& r) {
  const int64_t K = s.kh * s.kw * s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t group_size = gemm_forward_weights_size<T>(s) / s.groups;
  for (int64_t g = 0; g < s.groups; ++g) {
    if (s.layout == Layout::NHWC)
      pack_b_full(packed + g * group_size, w + g * coutg, s.cout, 1, K, coutg, r);
    else
      pack_a_full(packed + g * group_size, w + g * coutg * K, K, 1, coutg, K, r);
  }
}

// Weights packed during the call (no packed weights from the caller) go to the shared buffer.
template <class T>
struct ForwardWeightsWorkspace {
  int64_t packed;
  explicit ForwardWeightsWorkspace(const ConvShape& s) : packed(gemm_forward_weights_size<T>(s)) {}
  void add_to(WorkspaceTally& tally) const { tally.shared(kPackedWeights, elements_bytes<T>(packed)); }
};

// The packed weights given by the caller, or packed now into scratch.
template <class T>
const T* packed_forward_weights(const ConvShape& s, const T* w, const T* prepacked, Runner& r) {
  if (prepacked) return prepacked;
  T* packed = scratch_of<T>(r, r.num_threads(), kPackedWeights, ForwardWeightsWorkspace<T>(s).packed);
  pack_gemm_forward_weights(s, w, packed, r);
  return packed;
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
