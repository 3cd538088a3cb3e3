// The kernel entry points. Each ISA translation unit (generic, AVX2+FMA, AVX-512) fills one
// KernelTable from the same templated sources compiled with its own flags; the runtime picks
// the table once from cpuid (or CONVKIT_ISA). Callers validate() shapes before calling.
#pragma once

#include "common.hpp"
#include "plan.hpp"
#include "pool/plan.hpp"

namespace convkit {

template <class T>
struct KernelOps {
  // The algorithm, thread count and workspace of one conv pass on this table: the one place
  // where a conv algorithm is chosen (conv/choose.hpp). threads: the runner's num_threads().
  ConvPlan (*conv2d_plan)(const ConvShape&, ConvPass, int threads);
  // The conv entry points execute a plan of this table for their pass (else ERR_INTERNAL), on
  // a runner with the thread count it was planned for.
  // y = conv(x, w) + b; b may be null. `packed` is null or w as conv2d_pack_weights left it.
  void (*conv2d_forward)(const ConvPlan&, const T* x, const T* w, const T* packed, const T* b, T* y, Runner&);
  // Elements conv2d_pack_weights writes for this shape (0: nothing to pack, pass null).
  int64_t (*conv2d_packed_weights_size)(const ConvShape&);
  // w packed for the forward's GEMM, valid for every input shape with the same weights, groups
  // and layout, on this ISA.
  void (*conv2d_pack_weights)(const ConvShape&, const T* w, T* packed, Runner&);
  // dx = gradient of conv w.r.t. x, given dy (overwrites dx).
  void (*conv2d_backward_input)(const ConvPlan&, const T* dy, const T* w, T* dx, Runner&);
  // dw (and db unless null) from dy and x (overwrites both).
  void (*conv2d_backward_filter)(const ConvPlan&, const T* dy, const T* x, T* dw, T* db, Runner&);
  // The pool's algorithm and thread split for a runner of `threads` threads (pool/plan.hpp).
  PoolPlan (*pool2d_plan)(const PoolShape&, PoolPass, int threads);
  // Max mode writes argmax unless it is null; avg mode ignores it. Takes a kForward plan.
  void (*pool2d_forward)(const PoolPlan&, const T* x, T* y, int32_t* argmax, Runner&);
  // Max mode reads argmax (required); avg mode ignores it. Overwrites dx. Takes a kBackward plan.
  void (*pool2d_backward)(const PoolPlan&, const T* dy, const int32_t* argmax, T* dx, Runner&);
  void (*zero_pad)(const PadShape&, const T* x, T* y, Runner&);
  // c = a * b (+ bias per column) (+ c when s.accumulate); see GemmShape.
  void (*gemm)(const GemmShape&, const T* a, const T* b, const T* bias, T* c, Runner&);
  // y = max(x, 0) (NaN stays NaN); y may be x.
  void (*relu)(const T* x, T* y, int64_t n, Runner&);
  // dx = y > 0 ? dy : 0 with y the forward output; dx may be dy.
  void (*relu_backward)(const T* y, const T* dy, T* dx, int64_t n, Runner&);
  // Updates p, m and v in place from g.
  void (*adam)(const AdamStep&, T* p, const T* g, T* m, T* v, int64_t n, Runner&);
};

struct KernelTable {
  const char* isa;  // "avx512", "avx2", "generic"
  int gemm_mr_f32, gemm_nr_f32, gemm_mr_f64, gemm_nr_f64;
  KernelOps<float> f32;
  KernelOps<double> f64;
};

// Defined by the ISA translation units; null where the build has no such unit (e.g. arm64).
const KernelTable* kernel_table_generic();
const KernelTable* kernel_table_avx2();
const KernelTable* kernel_table_avx512();

}  // namespace convkit
