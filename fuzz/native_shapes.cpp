// libFuzzer target over the native shape checks and kernel entry points (issue 13): the input
// is decoded into a ConvShape / PoolShape / PadShape / GemmShape, with a bias toward extreme
// values (0, 1, 2^31, 2^46, 2^k +- d, negatives, raw 64-bit), then validate() is called. A shape
// it accepts and whose tensors are small gets exact-size buffers (so ASan sees every overrun)
// and the kernel runs on an emulated multi-thread serial runner whose scratch is capped.
// A finding is anything the sanitizers report, an exception that is not a coded
// convkit::Error, a workspace out of proportion to the tensors, an output element the kernel
// left unwritten, or (optionally) an ISA disagreeing with the generic kernels.
// The byte format is described in fuzz/README.md; fuzz/make-seeds.js writes the seed corpus;
// fuzz_support.hpp has the reader, the runner and the reporting.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "../native/kernels/kernels.hpp"
#include "../native/runtime/dispatch.hpp"
#include "fuzz_support.hpp"

using namespace convkit;
using namespace convkit_fuzz;

namespace {

// Tensors beyond this many elements are only validated, not run: the point is odd geometry,
// and small buffers keep an execution in the millisecond range under ASan.
constexpr int64_t kMaxRunElements = int64_t(1) << 16;
// Multiply-adds (or window visits) beyond this are only validated, for the same reason.
constexpr double kMaxRunWork = double(1 << 20);

// ---- the call

enum Op : uint8_t { kForward, kForwardPacked, kBackwardInput, kBackwardFilter, kPoolForward, kPoolBackward, kPad, kGemm, kOps };

struct Plan {
  Op op;
  bool f64;
  const KernelTable* table;
  bool compare_with_generic;
  int threads;
  bool bias;
};

std::vector<const KernelTable*> tables() {
  std::vector<const KernelTable*> out;
  for (const std::string& name : supported_isas()) out.push_back(kernel_table_named(name));
  return out;
}

template <class T>
std::vector<T> filled(const Reader& in, int64_t count, size_t salt) {
  std::vector<T> v(static_cast<size_t>(count));
  for (size_t i = 0; i < v.size(); ++i) v[i] = T(in.value(i * 7 + salt));
  return v;
}

template <class T>
std::vector<T> poisoned(int64_t count) {
  return std::vector<T>(static_cast<size_t>(count), std::numeric_limits<T>::quiet_NaN());
}

// Every element written and finite: the inputs are finite and bounded, so NaN means the kernel
// skipped it (outputs start as NaN) or read memory it should not have.
template <class T>
void require_written(const std::vector<T>& out, const char* what, const Plan& p) {
  for (size_t i = 0; i < out.size(); ++i)
    if (!std::isfinite(out[i]))
      finding(std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(double(out[i])) + " on " +
              p.table->isa + (p.f64 ? " f64" : " f32") + " (left unwritten or read out of bounds)");
}

// `terms` bounds how many products of magnitude <= 16 went into one element.
template <class T>
void require_close(const std::vector<T>& got, const std::vector<T>& want, double terms, const char* what, const Plan& p) {
  const double tol = terms * 16.0 * 8.0 * std::numeric_limits<T>::epsilon();
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(double(got[i]) - double(want[i])) <= tol))
      finding(std::string(what) + "[" + std::to_string(i) + "] is " + std::to_string(double(got[i])) + " on " + p.table->isa +
              " but " + std::to_string(double(want[i])) + " on generic");
}

bool small(std::initializer_list<int64_t> sizes, double work) {
  for (int64_t s : sizes)
    if (s > kMaxRunElements) return false;
  return work <= kMaxRunWork;
}

// Output size along one dimension by the documented formula, computed wide; a value that is
// not representable (or a nonsensical input) becomes 0, which validate() must refuse.
int64_t conv_out(int64_t in, int64_t lo, int64_t hi, int64_t k, int64_t dilation, int64_t stride) {
  if (stride <= 0 || k <= 0 || dilation <= 0) return 0;
  const __int128 span = __int128(dilation) * (k - 1) + 1, padded = __int128(in) + lo + hi;
  if (padded < span) return 0;
  const __int128 out = (padded - span) / stride + 1;
  return out > std::numeric_limits<int64_t>::max() ? 0 : int64_t(out);
}

int64_t pool_out(int64_t in, int64_t pad, int64_t k, int64_t stride, bool ceil_mode) {
  if (stride <= 0 || k <= 0) return 0;
  const __int128 padded = __int128(in) + 2 * __int128(pad);
  if (padded < k) return 0;
  __int128 out = (padded - k + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  if (ceil_mode && (out - 1) * stride >= __int128(in) + pad) --out;
  return out > std::numeric_limits<int64_t>::max() ? 0 : int64_t(out);
}

// Runs one kernel call with fresh scratch; false if it threw a coded error (allowed: e.g. an
// argmax outside the plane). Any other exception is a finding.
template <class F>
bool call(const Plan& p, double tensor_bytes, F&& kernel) {
  FuzzRunner runner(p.threads, tensor_bytes);
  try {
    kernel(runner);
    return true;
  } catch (const Error& e) {
    if (std::strcmp(e.code(), "ERR_INTERNAL") == 0) finding(std::string("kernel threw ERR_INTERNAL: ") + e.what());
    return false;
  } catch (const std::exception& e) {
    finding(std::string("kernel threw an uncoded exception: ") + e.what());
  }
}

template <class T>
const KernelOps<T>& ops_of(const KernelTable* t) {
  if constexpr (std::is_same_v<T, float>) return t->f32;
  else return t->f64;
}

// ---- convolution

template <class T>
void run_conv(const Plan& p, const ConvShape& s, const Reader& in) {
  // Sizing the packed weights is allowed for any valid shape (the addon calls it first).
  const int64_t packed_size = ops_of<T>(p.table).conv2d_packed_weights_size(s);
  if (packed_size < 0 || packed_size > 64 * kMaxKernelElements)
    finding("conv2d_packed_weights_size = " + std::to_string(packed_size));
  const double taps = double(s.kh) * double(s.kw);
  // The direct dx is a forward over dy padded by the kernel: every tap of every input pixel.
  const double macs = std::max(double(s.y_size()) * double(s.cin_per_group()) * taps,
                               p.op == kBackwardInput ? double(s.x_size()) * double(s.cout_per_group()) * taps : 0.0);
  if (!small({s.x_size(), s.w_size(), s.y_size(), packed_size}, macs)) return;
  const double bytes = double(s.x_size() + s.w_size() + s.y_size() + s.cout) * sizeof(T);
  const std::vector<T> x = filled<T>(in, s.x_size(), 1), w = filled<T>(in, s.w_size(), 2),
                       b = filled<T>(in, s.cout, 3), dy = filled<T>(in, s.y_size(), 4);
  const double fwd_terms = double(s.cin_per_group() * s.kh * s.kw + 1);
  auto forward = [&](const KernelTable* t, std::vector<T>& y) {
    return call(p, bytes, [&](Runner& r) {
      const KernelOps<T>& k = ops_of<T>(t);
      std::vector<T> packed;
      if (p.op == kForwardPacked && k.conv2d_packed_weights_size(s) > 0) {
        packed = poisoned<T>(k.conv2d_packed_weights_size(s));
        k.conv2d_pack_weights(s, w.data(), packed.data(), r);
      }
      k.conv2d_forward(k.conv2d_plan(s, ConvPass::kForward, r.num_threads()), x.data(), w.data(), packed.empty() ? nullptr : packed.data(), p.bias ? b.data() : nullptr,
                       y.data(), r);
    });
  };
  if (p.op == kForward || p.op == kForwardPacked) {
    std::vector<T> y = poisoned<T>(s.y_size());
    if (!forward(p.table, y)) return;
    require_written(y, "y", p);
    if (!p.compare_with_generic) return;
    std::vector<T> ref = poisoned<T>(s.y_size());
    if (forward(kernel_table_generic(), ref)) require_close(y, ref, fwd_terms, "y", p);
  } else if (p.op == kBackwardInput) {
    auto dx_of = [&](const KernelTable* t, std::vector<T>& dx) {
      return call(p, bytes, [&](Runner& r) { ops_of<T>(t).conv2d_backward_input(ops_of<T>(t).conv2d_plan(s, ConvPass::kBackwardInput, r.num_threads()), dy.data(), w.data(), dx.data(), r); });
    };
    std::vector<T> dx = poisoned<T>(s.x_size());
    if (!dx_of(p.table, dx)) return;
    require_written(dx, "dx", p);
    if (!p.compare_with_generic) return;
    std::vector<T> ref = poisoned<T>(s.x_size());
    if (dx_of(kernel_table_generic(), ref)) require_close(dx, ref, double(s.cout_per_group() * s.kh * s.kw), "dx", p);
  } else {
    auto dw_of = [&](const KernelTable* t, std::vector<T>& dw, std::vector<T>& db) {
      return call(p, bytes, [&](Runner& r) {
        ops_of<T>(t).conv2d_backward_filter(ops_of<T>(t).conv2d_plan(s, ConvPass::kBackwardFilter, r.num_threads()), dy.data(), x.data(), dw.data(), p.bias ? db.data() : nullptr, r);
      });
    };
    std::vector<T> dw = poisoned<T>(s.w_size()), db = poisoned<T>(p.bias ? s.cout : 0);
    if (!dw_of(p.table, dw, db)) return;
    require_written(dw, "dw", p);
    require_written(db, "db", p);
    if (!p.compare_with_generic) return;
    std::vector<T> ref_dw = poisoned<T>(s.w_size()), ref_db = poisoned<T>(p.bias ? s.cout : 0);
    if (!dw_of(kernel_table_generic(), ref_dw, ref_db)) return;
    const double terms = double(s.n) * double(s.oh) * double(s.ow);
    require_close(dw, ref_dw, terms, "dw", p);
    require_close(db, ref_db, terms, "db", p);
  }
}

// ---- pooling, padding, GEMM

template <class T>
void run_pool(const Plan& p, const PoolShape& s, const Reader& in, bool fuzzed_argmax) {
  if (!small({s.x_size(), s.y_size()}, double(s.y_size()) * double(s.kh) * double(s.kw))) return;
  const double bytes = double(s.x_size() + s.y_size()) * sizeof(T) + double(s.y_size()) * 4;
  const std::vector<T> x = filled<T>(in, s.x_size(), 5), dy = filled<T>(in, s.y_size(), 6);
  std::vector<T> y = poisoned<T>(s.y_size());
  std::vector<int32_t> argmax(size_t(s.mode == PoolMode::Max ? s.y_size() : 0), -7);
  int32_t* am = argmax.empty() ? nullptr : argmax.data();
  auto forward = [&](const KernelTable* t, std::vector<T>& out) {
    return call(p, bytes, [&](Runner& r) {
      const KernelOps<T>& k = ops_of<T>(t);
      k.pool2d_forward(k.pool2d_plan(s, PoolPass::kForward, r.num_threads()), x.data(), out.data(), am, r);
    });
  };
  if (!forward(p.table, y)) return;
  require_written(y, "pool y", p);
  for (int32_t a : argmax)
    if (a < 0 || int64_t(a) >= s.h * s.w) finding("pool argmax " + std::to_string(a) + " outside the plane");
  if (p.op == kPoolForward) {
    if (!p.compare_with_generic) return;
    std::vector<T> ref = poisoned<T>(s.y_size());
    if (forward(kernel_table_generic(), ref)) require_close(y, ref, double(s.kh * s.kw), "pool y", p);
    return;
  }
  // Backward from the forward's argmax, or from fuzz-chosen indices (which must be refused
  // with a coded error when outside the plane, never followed).
  if (fuzzed_argmax)
    for (size_t i = 0; i < argmax.size(); ++i) argmax[i] = int32_t(int64_t(in.value(i) * 32.0) * 977 % (s.h * s.w + 3)) - 1;
  auto backward = [&](const KernelTable* t, std::vector<T>& dx) {
    return call(p, bytes, [&](Runner& r) {
      const KernelOps<T>& k = ops_of<T>(t);
      k.pool2d_backward(k.pool2d_plan(s, PoolPass::kBackward, r.num_threads()), dy.data(), am, dx.data(), r);
    });
  };
  std::vector<T> dx = poisoned<T>(s.x_size());
  if (!backward(p.table, dx)) return;
  require_written(dx, "pool dx", p);
  if (!p.compare_with_generic) return;
  std::vector<T> ref = poisoned<T>(s.x_size());
  if (backward(kernel_table_generic(), ref)) require_close(dx, ref, double(s.kh * s.kw) * double(s.y_size()), "pool dx", p);
}

template <class T>
void run_pad(const Plan& p, const PadShape& s, const Reader& in) {
  if (!small({s.x_size(), s.y_size()}, double(s.y_size()))) return;
  const std::vector<T> x = filled<T>(in, s.x_size(), 7);
  auto pad = [&](const KernelTable* t, std::vector<T>& y) {
    return call(p, double(s.x_size() + s.y_size()) * sizeof(T),
                [&](Runner& r) { ops_of<T>(t).zero_pad(s, x.data(), y.data(), r); });
  };
  std::vector<T> y = poisoned<T>(s.y_size());
  if (!pad(p.table, y)) return;
  require_written(y, "pad y", p);
  if (!p.compare_with_generic) return;
  std::vector<T> ref = poisoned<T>(s.y_size());
  if (pad(kernel_table_generic(), ref)) require_close(y, ref, 0, "pad y", p);
}

template <class T>
void run_gemm(const Plan& p, const GemmShape& s, const Reader& in) {
  if (!small({s.a_extent(), s.b_extent(), s.m * s.n}, double(s.m) * double(s.n) * double(s.k))) return;
  const std::vector<T> a = filled<T>(in, s.a_extent(), 8), b = filled<T>(in, s.b_extent(), 9),
                       bias = filled<T>(in, s.n, 10), c0 = filled<T>(in, s.m * s.n, 11);
  const bool with_bias = p.bias && !s.accumulate;  // exclusive, see GemmShape
  auto gemm = [&](const KernelTable* t, std::vector<T>& c) {
    c = s.accumulate ? c0 : poisoned<T>(s.m * s.n);
    const double bytes = double(s.a_extent() + s.b_extent() + s.n + s.m * s.n) * sizeof(T);
    return call(p, bytes, [&](Runner& r) { ops_of<T>(t).gemm(s, a.data(), b.data(), with_bias ? bias.data() : nullptr, c.data(), r); });
  };
  std::vector<T> c;
  if (!gemm(p.table, c)) return;
  require_written(c, "gemm c", p);
  if (!p.compare_with_generic) return;
  std::vector<T> ref;
  if (gemm(kernel_table_generic(), ref)) require_close(c, ref, double(s.k + 2), "gemm c", p);
}

// validate() must accept or throw a coded error; anything else (or a sanitizer report inside
// it) is a finding. Returns whether it accepted.
template <class S>
bool validated(const S& s) {
  try {
    validate(s);
    return true;
  } catch (const Error& e) {
    const std::string code = e.code();
    if (code != "ERR_SHAPE" && code != "ERR_ARG" && code != "ERR_TOO_LARGE")
      finding("validate threw " + code + ": " + e.what());
    return false;
  } catch (const std::exception& e) {
    finding(std::string("validate threw an uncoded exception: ") + e.what());
  }
}

std::string fields(std::initializer_list<std::pair<const char*, int64_t>> list) {
  std::string out;
  for (const auto& [name, v] : list) out += std::string(" ") + name + "=" + std::to_string(v);
  return out;
}

// The op, dtype, ISA and threads (and the layout, for all but GEMM).
std::string head(const Plan& p) {
  static const char* const names[kOps] = {"conv forward", "conv forward packed", "conv dx", "conv dw",
                                          "pool forward", "pool backward", "zero pad", "gemm"};
  return std::string(names[p.op]) + (p.f64 ? " f64 " : " f32 ") + p.table->isa + " threads=" + std::to_string(p.threads);
}

std::string head(const Plan& p, Layout layout) {
  const int64_t code = int64_t(layout);
  return head(p) + (code == 0 ? " NHWC" : code == 1 ? " NCHW" : " layout=" + std::to_string(code));
}

Layout layout_from(Reader& in) {
  const uint8_t b = in.byte();
  return b < 0xf8 ? Layout(b & 1) : Layout(int8_t(b));  // rarely an invalid code
}

template <class T>
void run(const Plan& p, Reader& in, bool derive_output, bool flag) {
  if (p.op <= kBackwardFilter) {
    ConvShape s;
    s.layout = layout_from(in);
    s.n = in.integer(1), s.h = in.integer(1), s.w = in.integer(1), s.c = in.integer(1);
    s.kh = in.integer(1), s.kw = in.integer(1), s.cout = in.integer(1), s.groups = in.integer(1);
    s.stride_h = in.integer(1), s.stride_w = in.integer(1);
    s.pad_top = in.integer(0), s.pad_left = in.integer(0), s.pad_bottom = in.integer(0), s.pad_right = in.integer(0);
    s.dilation_h = in.integer(1), s.dilation_w = in.integer(1);
    if (derive_output) {
      s.oh = conv_out(s.h, s.pad_top, s.pad_bottom, s.kh, s.dilation_h, s.stride_h);
      s.ow = conv_out(s.w, s.pad_left, s.pad_right, s.kw, s.dilation_w, s.stride_w);
    } else {
      s.oh = in.integer(1), s.ow = in.integer(1);
    }
    set_call(head(p, s.layout) + (p.bias ? " bias" : "") +
             fields({{"n", s.n}, {"h", s.h}, {"w", s.w}, {"c", s.c}, {"kh", s.kh}, {"kw", s.kw}, {"cout", s.cout},
                     {"groups", s.groups}, {"oh", s.oh}, {"ow", s.ow}, {"stride_h", s.stride_h}, {"stride_w", s.stride_w},
                     {"pad_top", s.pad_top}, {"pad_left", s.pad_left}, {"pad_bottom", s.pad_bottom},
                     {"pad_right", s.pad_right}, {"dilation_h", s.dilation_h}, {"dilation_w", s.dilation_w}}));
    if (validated(s)) run_conv<T>(p, s, in);
  } else if (p.op <= kPoolBackward) {
    PoolShape s;
    s.layout = layout_from(in);
    const uint8_t mode = in.byte();
    s.mode = mode < 0xf8 ? PoolMode(mode & 1) : PoolMode(int8_t(mode));
    s.ceil_mode = mode & 2, s.count_include_pad = mode & 4;
    s.n = in.integer(1), s.c = in.integer(1), s.h = in.integer(1), s.w = in.integer(1);
    s.kh = in.integer(1), s.kw = in.integer(1), s.stride_h = in.integer(1), s.stride_w = in.integer(1);
    s.pad_h = in.integer(0), s.pad_w = in.integer(0);
    if (derive_output) {
      s.oh = pool_out(s.h, s.pad_h, s.kh, s.stride_h, s.ceil_mode);
      s.ow = pool_out(s.w, s.pad_w, s.kw, s.stride_w, s.ceil_mode);
    } else {
      s.oh = in.integer(1), s.ow = in.integer(1);
    }
    set_call(head(p, s.layout) + (s.mode == PoolMode::Max ? " max" : " avg") +
             (s.ceil_mode ? " ceil" : "") + (s.count_include_pad ? " count_include_pad" : "") + (flag ? " fuzzed-argmax" : "") +
             fields({{"n", s.n}, {"c", s.c}, {"h", s.h}, {"w", s.w}, {"kh", s.kh}, {"kw", s.kw}, {"oh", s.oh}, {"ow", s.ow},
                     {"stride_h", s.stride_h}, {"stride_w", s.stride_w}, {"pad_h", s.pad_h}, {"pad_w", s.pad_w}}));
    if (validated(s)) run_pool<T>(p, s, in, flag);
  } else if (p.op == kPad) {
    PadShape s;
    s.layout = layout_from(in);
    s.n = in.integer(1), s.c = in.integer(1), s.h = in.integer(1), s.w = in.integer(1);
    s.pad_top = in.integer(0), s.pad_left = in.integer(0), s.pad_bottom = in.integer(0), s.pad_right = in.integer(0);
    set_call(head(p, s.layout) +
             fields({{"n", s.n}, {"c", s.c}, {"h", s.h}, {"w", s.w}, {"pad_top", s.pad_top}, {"pad_left", s.pad_left},
                     {"pad_bottom", s.pad_bottom}, {"pad_right", s.pad_right}}));
    if (validated(s)) run_pad<T>(p, s, in);
  } else {
    GemmShape s;
    s.m = in.integer(1), s.n = in.integer(1), s.k = in.integer(1);
    s.a_row_stride = in.integer(0), s.a_col_stride = in.integer(1), s.b_row_stride = in.integer(0), s.b_col_stride = in.integer(1);
    if (derive_output) s.a_row_stride = s.k, s.b_row_stride = s.n;  // contiguous operands
    s.accumulate = flag;
    set_call(head(p) + (s.accumulate ? " accumulate" : "") + (p.bias ? " bias" : "") +
             fields({{"m", s.m}, {"n", s.n}, {"k", s.k}, {"a_row_stride", s.a_row_stride}, {"a_col_stride", s.a_col_stride},
                     {"b_row_stride", s.b_row_stride}, {"b_col_stride", s.b_col_stride}}));
    if (validated(s)) run_gemm<T>(p, s, in);
  }
}

}  // namespace

// Byte 0: op (mod 8). Byte 1: bit 0 f64, bits 1-2 ISA index, bits 3-4 threads - 1, bit 5 bias,
// bit 6 derive the output size (conv/pool) or contiguous strides (GEMM), bit 7 compare with
// the generic kernels. Byte 2: bit 0 a fuzz-chosen argmax (pool backward) or accumulate (GEMM).
// Then the shape's fields in declaration order, then the bytes the values are drawn from.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<const KernelTable*> isas = tables();
  Reader in(data, size);
  const uint8_t op = in.byte(), flags = in.byte(), extra = in.byte();
  Plan p;
  p.op = Op(op % kOps);
  p.f64 = flags & 1;
  p.table = isas[((flags >> 1) & 3) % isas.size()];
  p.threads = 1 + ((flags >> 3) & 3);
  p.bias = flags & 32;
  p.compare_with_generic = (flags & 128) && p.table != kernel_table_generic();
  const bool derive = flags & 64, flag = extra & 1;
  if (p.f64)
    run<double>(p, in, derive, flag);
  else
    run<float>(p, in, derive, flag);
  return 0;
}
