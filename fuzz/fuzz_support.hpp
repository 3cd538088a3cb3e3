// Support for the libFuzzer targets in fuzz/: how findings are reported, the byte reader that
// turns fuzz input into integers biased to extreme values, and a Runner that emulates worker
// threads serially and refuses workspaces out of proportion to the work.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#include "../native/kernels/common.hpp"

namespace convkit_fuzz {

using namespace convkit;

// No scratch request is ever allocated above this, whatever the bound below says.
constexpr size_t kScratchCap = size_t(256) << 20;

// The decoded call, for reports: printed with every finding, and before each call when
// CONVKIT_FUZZ_VERBOSE is set (to see what a crash input that a sanitizer caught was doing).
inline std::string g_call;
inline const bool g_verbose = std::getenv("CONVKIT_FUZZ_VERBOSE") != nullptr;

inline void set_call(std::string call) {
  g_call = std::move(call);
  if (g_verbose) std::fprintf(stderr, "call: %s\n", g_call.c_str());
}

[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "\n==FINDING== %s\n  in %s\n", what.c_str(), g_call.c_str());
  std::fflush(stderr);
  std::abort();
}

// ---- input decoding

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t byte(uint8_t fallback = 0) { return pos_ < size_ ? data_[pos_++] : fallback; }

  // One integer: mostly small, else a special, a power of two nudged by a signed byte, a small
  // negative or raw bytes. Exhausted input gives `fallback`.
  int64_t integer(int64_t fallback) {
    if (pos_ >= size_) return fallback;
    const uint8_t tag = byte();
    if (tag < 0xa0) return tag % 12;
    if (tag < 0xc0) return kSpecials[tag - 0xa0];
    if (tag < 0xe0) {
      const unsigned k = byte() % 64;
      const int8_t delta = int8_t(byte());
      return int64_t((uint64_t(1) << k) + uint64_t(int64_t(delta)));  // wraps on purpose
    }
    if (tag < 0xf0) return -int64_t(tag - 0xdf);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(byte()) << (8 * i);
    return int64_t(v);
  }

  // A finite value in [-4, 4) that is a multiple of 1/32 (exact in both dtypes), from the bytes
  // left after the shape, cycled; a fixed pattern when there are none.
  double value(size_t i) const {
    const size_t left = size_ - pos_;
    const uint8_t b = left ? data_[pos_ + i % left] ^ uint8_t(i / left * 37) : uint8_t(i * 73 + 11);
    return double(int8_t(b)) / 32.0;
  }

 private:
  static constexpr int64_t kSpecials[32] = {
      0, 1, 2, 3, -1, int64_t(1) << 31, (int64_t(1) << 31) - 1, (int64_t(1) << 31) + 1,
      (int64_t(1) << 31) - 31, int64_t(1) << 30, (int64_t(1) << 30) - 15, int64_t(1) << 32,
      int64_t(1) << 46, (int64_t(1) << 46) + 1, (int64_t(1) << 46) - 1, int64_t(1) << 23,
      (int64_t(1) << 23) + 1, int64_t(1) << 15, int64_t(1) << 16, 40000, 80000, 11000, 3037000500,
      int64_t(1) << 53, (int64_t(1) << 53) - 1, std::numeric_limits<int64_t>::max(),
      std::numeric_limits<int64_t>::min(), -(int64_t(1) << 31), int64_t(1) << 62, 4194304, 65535, 7};
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// ---- a Runner that emulates `threads` workers serially and polices scratch

class FuzzRunner : public Runner {
 public:
  FuzzRunner(int threads, double tensor_bytes) : threads_(threads), tensor_bytes_(tensor_bytes) {}
  ~FuzzRunner() override {
    for (auto& row : buffers_)
      for (void* p : row) std::free(p);
  }
  int num_threads() const override { return threads_; }

  // The thread pool's static split: thread t runs tasks [t*n/T, (t+1)*n/T), in order.
  void run(int64_t ntasks, void (*fn)(void*, int64_t, int), void* ctx) override {
    if (ntasks < 0) finding("Runner::run with " + std::to_string(ntasks) + " tasks");
    for (int t = 0; t < threads_; ++t) {
      const int64_t begin = int64_t(__int128(ntasks) * t / threads_), end = int64_t(__int128(ntasks) * (t + 1) / threads_);
      for (int64_t task = begin; task < end; ++task) fn(ctx, task, t);
    }
  }

  // Exact-size allocations, so ASan flags a kernel that writes past what it asked for. A
  // workspace must be bounded by the work it serves (interfaces.md): with tensors of at most
  // 2^16 elements, anything beyond 64 times their bytes plus 64 MiB of fixed tiles is not.
  void* scratch(int thread, int slot, size_t bytes) override {
    if (thread < 0 || thread > threads_ || slot < 0 || slot >= kSlots)
      finding("scratch(" + std::to_string(thread) + ", " + std::to_string(slot) + ") out of range");
    const double bound = 64.0 * tensor_bytes_ + double(64 << 20);
    if (double(bytes) > bound || bytes > kScratchCap)
      finding("scratch request of " + std::to_string(bytes) + " bytes for tensors of " +
              std::to_string(int64_t(tensor_bytes_)) + " bytes (unbounded workspace)");
    if (sizes_[thread][slot] < bytes || !buffers_[thread][slot]) {
      std::free(buffers_[thread][slot]);
      buffers_[thread][slot] = nullptr;
      void* p = nullptr;
      // A request of 0 (a size that wrapped, say) gets one byte, so its first use is reported.
      if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) finding("scratch allocation of " + std::to_string(bytes) + " failed");
      buffers_[thread][slot] = p;
      sizes_[thread][slot] = bytes;
    }
    return buffers_[thread][slot];
  }

 private:
  static constexpr int kMaxThreads = 4;
  int threads_;
  double tensor_bytes_;
  void* buffers_[kMaxThreads + 1][kSlots] = {};
  size_t sizes_[kMaxThreads + 1][kSlots] = {};
};

}  // namespace convkit_fuzz
