#include "common.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

namespace convkit {

namespace {
std::atomic<int64_t> memory_limit{kDefaultMemoryLimitBytes};
}  // namespace

int64_t memory_limit_bytes() { return memory_limit.load(std::memory_order_relaxed); }

void set_memory_limit_bytes(int64_t bytes) { memory_limit.store(bytes < 1 ? 1 : bytes, std::memory_order_relaxed); }

void check_scratch_request(size_t bytes) {
  const int64_t limit = memory_limit_bytes();
  if (bytes > uint64_t(limit))
    throw Error(ErrorCode::ERR_TOO_LARGE, "a workspace must fit the memory limit of " + std::to_string(limit) +
                                              " bytes (setMemoryLimit), got a request for " + std::to_string(bytes) +
                                              " bytes");
}

void* aligned_alloc_or_throw(size_t bytes) {
  if (bytes == 0) bytes = 64;
  if (bytes > (size_t(1) << 46))
    throw Error(ErrorCode::ERR_ALLOC, "scratch request of " + std::to_string(bytes) + " bytes refused");
  void* p = nullptr;
  if (posix_memalign(&p, 64, (bytes + 63) & ~size_t(63)) != 0 || p == nullptr)
    throw Error(ErrorCode::ERR_ALLOC, "out of memory allocating " + std::to_string(bytes) + " bytes of scratch");
  return p;
}

void aligned_free(void* p) { std::free(p); }

void* grow_scratch(ScratchBuffer& buffer, size_t bytes, std::atomic<size_t>& held) {
  // Checked even when a warm buffer would do, so that whether a call fits the limit does not
  // depend on what earlier calls left behind.
  check_scratch_request(bytes);
  if (buffer.size >= bytes) return buffer.ptr;
  aligned_free(buffer.ptr);
  held -= buffer.size;
  buffer.ptr = nullptr;
  buffer.size = 0;
  buffer.ptr = aligned_alloc_or_throw(bytes);
  buffer.size = bytes;
  held += bytes;
  return buffer.ptr;
}

void release_scratch_above(ScratchBuffer* buffers, size_t count, size_t keep_bytes, std::atomic<size_t>& held) {
  while (held > keep_bytes) {
    ScratchBuffer* largest = std::max_element(
        buffers, buffers + count, [](const ScratchBuffer& a, const ScratchBuffer& b) { return a.size < b.size; });
    if (largest == buffers + count || largest->size == 0) break;
    aligned_free(largest->ptr);
    held -= largest->size;
    largest->ptr = nullptr;
    largest->size = 0;
  }
}

SerialRunner::~SerialRunner() {
  for (auto& row : buffers_)
    for (auto& b : row) aligned_free(b.ptr);
}

void* SerialRunner::scratch(int thread, int slot, size_t bytes) {
  if (thread < 0 || thread > 1 || slot < 0 || slot >= kSlots) throw Error(ErrorCode::ERR_INTERNAL, "bad scratch index");
  return grow_scratch(buffers_[thread][slot], bytes, held_);
}

}  // namespace convkit
