// Shared vocabulary of the convkit kernels: shapes, errors and the parallel runner.
// Plain C++17: no N-API here, so the kernels build and test on their own.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "../generated/boundary.hpp"
#include "parallel.hpp"

namespace convkit {

// An error with a stable code (schema/boundary.json lists them) that the addon turns into a JS
// Error whose `code` is error_code_name(code).
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode error_code() const noexcept { return code_; }
  const char* code() const noexcept { return error_code_name(code_); }  // as JS sees it

 private:
  ErrorCode code_;
};

enum class Layout : int32_t { NHWC = 0, NCHW = 1 };
enum class PoolMode : int32_t { Max = 0, Avg = 1 };

// Everything a 2-D convolution needs, resolved: padding is explicit per side so that
// PyTorch's 'same' (extra row/column at the bottom/right) needs no special case.
// Input  x: NHWC (n, h, w, c)        or NCHW (n, c, h, w)
// Weight w: NHWC HWIO (kh, kw, c/groups, cout)  or NCHW OIHW (cout, c/groups, kh, kw)
// Output y: NHWC (n, oh, ow, cout)   or NCHW (n, cout, oh, ow)
struct ConvShape {
  Layout layout = Layout::NHWC;
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t kh = 0, kw = 0, cout = 0, groups = 1;
  int64_t oh = 0, ow = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t dilation_h = 1, dilation_w = 1;

  int64_t cin_per_group() const { return c / groups; }
  int64_t cout_per_group() const { return cout / groups; }
  int64_t x_size() const { return n * h * w * c; }
  int64_t w_size() const { return kh * kw * cin_per_group() * cout; }
  int64_t y_size() const { return n * oh * ow * cout; }
};

// Pooling. argmax (max mode) holds, per output element, the flat index ih * w + iw of the
// chosen input inside its (n, c) plane, whatever the layout.
struct PoolShape {
  Layout layout = Layout::NHWC;
  PoolMode mode = PoolMode::Max;
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t kh = 0, kw = 0;
  int64_t oh = 0, ow = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  bool ceil_mode = false;         // only used to re-check oh/ow
  bool count_include_pad = true;  // avg mode only

  int64_t x_size() const { return n * c * h * w; }
  int64_t y_size() const { return n * c * oh * ow; }
};

// Zero padding: y has h + pad_top + pad_bottom rows and w + pad_left + pad_right columns.
struct PadShape {
  Layout layout = Layout::NHWC;
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;

  int64_t out_h() const { return h + pad_top + pad_bottom; }
  int64_t out_w() const { return w + pad_left + pad_right; }
  int64_t x_size() const { return n * c * h * w; }
  int64_t y_size() const { return n * c * out_h() * out_w(); }
};

// One Adam update (torch.optim.Adam's rule), computed in double whatever the tensors' dtype:
// g = grad + weight_decay * p; m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
// p -= step_size * m / (sqrt(v) / root_correction + eps), with step_size = lr / (1 - beta1^t)
// and root_correction = sqrt(1 - beta2^t).
struct AdamStep {
  double beta1 = 0.9, beta2 = 0.999, step_size = 0, root_correction = 1, eps = 1e-8, weight_decay = 0;
};

// C[m x n] (row-major, contiguous) = A * B (+ bias per column) (+ C when accumulating), with
// A(i, k) = a[i*a_row_stride + k*a_col_stride] and B(k, j) = b[k*b_row_stride + j*b_col_stride],
// so transposed operands need no copy. Bias and accumulate are exclusive.
struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  int64_t a_row_stride = 0, a_col_stride = 1, b_row_stride = 0, b_col_stride = 1;
  bool accumulate = false;

  // Elements a strided operand must hold: its largest index plus one.
  int64_t a_extent() const { return (m - 1) * a_row_stride + (k - 1) * a_col_stride + 1; }
  int64_t b_extent() const { return (k - 1) * b_row_stride + (n - 1) * b_col_stride + 1; }
};

// Output size of a pool along one dimension, PyTorch rules (ceil_mode included); 0 if none.
int64_t pool_out_size(int64_t in, int64_t pad, int64_t k, int64_t stride, bool ceil_mode);

// Throw ERR_SHAPE / ERR_ARG / ERR_TOO_LARGE unless the shape is self-consistent: positive
// sizes, groups dividing channels, output sizes matching PyTorch's formula, element counts
// that fit in int64 and in the addressable limit. The kernels call nothing unchecked.
void validate(const ConvShape& s);
void validate(const PoolShape& s);
void validate(const PadShape& s);
void validate(const GemmShape& s);

// Largest element count of one tensor the kernels accept (2^46: far beyond any real memory,
// small enough that every index product below stays inside int64). Not TS's MAX_ELEMENTS (2^32,
// the longest typed array), which the JS side checks first.
constexpr int64_t kMaxKernelElements = int64_t(1) << 46;

// The most threads any Runner has (the thread pool's limit): per-thread tables in the kernels
// are sized by it.
constexpr int kMaxRunnerThreads = 256;

// Runs work on the persistent thread pool (or inline, in tests). Tasks are split statically
// and contiguously: thread t of T gets tasks [t*n/T, (t+1)*n/T), so per-thread partial sums are
// reproducible for a given thread count. An exception thrown by a task is rethrown by run().
class Runner {
 public:
  virtual ~Runner() = default;
  virtual int num_threads() const = 0;  // 1 .. kMaxRunnerThreads
  virtual void run(int64_t ntasks, void (*fn)(void* ctx, int64_t task, int thread), void* ctx) = 0;
  // Per-thread scratch memory, 64-byte aligned, at least `bytes`, kept between calls (no
  // allocation once warm). Slots let one op hold several buffers. Throws ERR_TOO_LARGE above
  // memory_limit_bytes() (before allocating) and ERR_ALLOC when the allocation fails.
  // thread == num_threads() names one extra, shared buffer per slot for the calling op.
  virtual void* scratch(int thread, int slot, size_t bytes) = 0;
  static constexpr int kSlots = 8;
};

template <class F>
void parallel_for(Runner& runner, int64_t ntasks, F&& fn) {
  using Fn = typename std::remove_reference<F>::type;
  runner.run(
      ntasks, [](void* ctx, int64_t task, int thread) { (*static_cast<Fn*>(ctx))(task, thread); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

// Runs everything on the calling thread but keeps using `base`'s scratch buffers: for calls so
// small that waking worker threads would cost more than the work.
class SerialView : public Runner {
 public:
  explicit SerialView(Runner& base) : base_(base) {}
  int num_threads() const override { return 1; }
  void run(int64_t ntasks, void (*fn)(void*, int64_t, int), void* ctx) override {
    for (int64_t t = 0; t < ntasks; ++t) fn(ctx, t, 0);
  }
  // Index 1 (the shared buffer when serial) is valid in every base: it is a worker's buffer
  // there, unused while this op holds the pool.
  void* scratch(int thread, int slot, size_t bytes) override { return base_.scratch(thread, slot, bytes); }

 private:
  Runner& base_;
};

// Calls fn(runner) with `runner`, or with a serial view of it when the call's work is too small
// to split across threads (kSerialWork, parallel.hpp).
template <class F>
void with_sized_runner(Runner& runner, double work, F&& fn) {
  if (runner.num_threads() > 1 && work < kSerialWork) {
    SerialView serial(runner);
    fn(static_cast<Runner&>(serial));
  } else {
    fn(runner);
  }
}

// Process-wide cap on the size in bytes of any single buffer convkit allocates (an output tensor
// or a workspace), so that a hostile shape fails with ERR_TOO_LARGE instead of exhausting memory.
constexpr int64_t kDefaultMemoryLimitBytes = int64_t(1) << 31;
int64_t memory_limit_bytes();
void set_memory_limit_bytes(int64_t bytes);  // bytes >= 1; the caller validates

// Throws ERR_TOO_LARGE when a workspace of `bytes` would exceed memory_limit_bytes().
void check_scratch_request(size_t bytes);

// One retained scratch buffer, and the bookkeeping every Runner implementation shares.
struct ScratchBuffer {
  void* ptr = nullptr;
  size_t size = 0;
};

// Returns `buffer` grown to at least `bytes` (checked against the limit first), adding what it
// allocates to and subtracting what it frees from `held` (atomic: pool threads grow their own
// buffers concurrently).
void* grow_scratch(ScratchBuffer& buffer, size_t bytes, std::atomic<size_t>& held);

// Frees the largest of `count` buffers until at most `keep_bytes` stay allocated: one oversized
// call must not leave its workspace pinned, while the usual working set stays warm.
void release_scratch_above(ScratchBuffer* buffers, size_t count, size_t keep_bytes, std::atomic<size_t>& held);

// Scratch a runner keeps warm between calls; anything above is freed, largest buffers first,
// when a call ends. The budget keeps every benchmark layer's buffers warm while a one-off
// workspace of hundreds of MiB is freed (figures: docs/decisions.md).
constexpr size_t kRetainedScratchBytesPerThread = size_t(16) << 20;
constexpr size_t kMinRetainedScratchBytes = size_t(64) << 20;
inline size_t retained_scratch_bytes(int threads) {
  const size_t scaled = kRetainedScratchBytesPerThread * size_t(threads < 1 ? 1 : threads);
  return scaled > kMinRetainedScratchBytes ? scaled : kMinRetainedScratchBytes;
}

// A Runner with one thread and plain heap scratch: for tests and for sync calls made while the
// pool is busy.
class SerialRunner : public Runner {
 public:
  SerialRunner() = default;
  SerialRunner(const SerialRunner&) = delete;
  SerialRunner& operator=(const SerialRunner&) = delete;
  ~SerialRunner() override;
  int num_threads() const override { return 1; }
  void run(int64_t ntasks, void (*fn)(void*, int64_t, int), void* ctx) override {
    for (int64_t t = 0; t < ntasks; ++t) fn(ctx, t, 0);
  }
  void* scratch(int thread, int slot, size_t bytes) override;
  // Frees the largest buffers until at most keep_bytes stay allocated.
  void release_scratch(size_t keep_bytes) { release_scratch_above(&buffers_[0][0], 2 * kSlots, keep_bytes, held_); }
  size_t scratch_bytes_held() const { return held_; }

 private:
  ScratchBuffer buffers_[2][kSlots] = {};
  std::atomic<size_t> held_{0};
};

// 64-byte aligned allocation that throws convkit::Error(ErrorCode::ERR_ALLOC) on failure.
void* aligned_alloc_or_throw(size_t bytes);
void aligned_free(void* p);

}  // namespace convkit
