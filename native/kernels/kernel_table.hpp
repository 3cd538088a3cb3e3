// The KernelTable of the ISA being compiled: every entry point of kernels.hpp, instantiated for
// float and double. Included by exactly one ISA unit (isa_<name>.cpp) each.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "checked.hpp"
#include "common.hpp"
#include "conv/conv.hpp"
#include "elementwise/elementwise.hpp"
#include "gemm/blocking.hpp"
#include "gemm/gemm.hpp"
#include "gemm/macro_kernel.hpp"
#include "gemm/pack.hpp"
#include "isa/config.hpp"
#include "kernels.hpp"
#include "pad/zero_pad.hpp"
#include "pool/pool.hpp"
#include "simd/simd.hpp"
#include "ukernel/a_rows.hpp"
#include "ukernel/ukernel.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {
template <class T>
KernelOps<T> make_ops() {
  KernelOps<T> ops;
  ops.conv2d_plan = &conv2d_plan<T>;
  ops.conv2d_forward = &conv2d_forward<T>;
  ops.conv2d_packed_weights_size = &conv2d_packed_weights_size<T>;
  ops.conv2d_pack_weights = &conv2d_pack_weights<T>;
  ops.conv2d_backward_input = &conv2d_backward_input<T>;
  ops.conv2d_backward_filter = &conv2d_backward_filter<T>;
  ops.pool2d_plan = &pool2d_plan<T>;
  ops.pool2d_forward = &pool2d_forward<T>;
  ops.pool2d_backward = &pool2d_backward<T>;
  ops.zero_pad = &zero_pad<T>;
  ops.gemm = &gemm<T>;
  ops.relu = &relu<T>;
  ops.relu_backward = &relu_backward<T>;
  ops.adam = &adam<T>;
  return ops;
}

inline KernelTable make_table(const char* isa) {
  KernelTable t;
  t.isa = isa;
  t.gemm_mr_f32 = Ukernel<float>::MR;
  t.gemm_nr_f32 = Ukernel<float>::NR;
  t.gemm_mr_f64 = Ukernel<double>::MR;
  t.gemm_nr_f64 = Ukernel<double>::NR;
  t.f32 = make_ops<float>();
  t.f64 = make_ops<double>();
  return t;
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
