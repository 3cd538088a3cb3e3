// All kernels of one ISA. Included by isa_*.cpp inside `namespace convkit { namespace {`,
// after that TU's micro-kernel (which defines `Ukernel<float>` and `Ukernel<double>`).
#include "simd.inl"
#include "gemm.inl"
#include "conv.inl"
#include "pool.inl"
#include "pad.inl"
#include "elementwise.inl"

template <class T>
KernelOps<T> make_ops() {
  KernelOps<T> ops;
  ops.conv2d_forward = &conv2d_forward<T>;
  ops.conv2d_packed_weights_size = &conv2d_packed_weights_size<T>;
  ops.conv2d_pack_weights = &conv2d_pack_weights<T>;
  ops.conv2d_backward_input = &conv2d_backward_input<T>;
  ops.conv2d_backward_filter = &conv2d_backward_filter<T>;
  ops.pool2d_forward = &pool2d_forward<T>;
  ops.pool2d_backward = &pool2d_backward<T>;
  ops.zero_pad = &zero_pad<T>;
  ops.gemm = &gemm<T>;
  ops.relu = &relu<T>;
  ops.relu_backward = &relu_backward<T>;
  ops.adam = &adam<T>;
  return ops;
}

KernelTable make_table(const char* isa) {
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
