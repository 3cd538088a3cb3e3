#include "common.hpp"

#include <cstdlib>
#include <new>

namespace convkit {

void* aligned_alloc_or_throw(size_t bytes) {
  if (bytes == 0) bytes = 64;
  if (bytes > (size_t(1) << 46)) throw Error("ERR_ALLOC", "scratch request of " + std::to_string(bytes) + " bytes refused");
  void* p = nullptr;
  if (posix_memalign(&p, 64, (bytes + 63) & ~size_t(63)) != 0 || p == nullptr)
    throw Error("ERR_ALLOC", "out of memory allocating " + std::to_string(bytes) + " bytes of scratch");
  return p;
}

void aligned_free(void* p) { std::free(p); }

SerialRunner::~SerialRunner() {
  for (auto& row : buffers_)
    for (void* p : row) aligned_free(p);
}

void* SerialRunner::scratch(int thread, int slot, size_t bytes) {
  if (thread < 0 || thread > 1 || slot < 0 || slot >= kSlots) throw Error("ERR_INTERNAL", "bad scratch index");
  if (sizes_[thread][slot] < bytes) {
    aligned_free(buffers_[thread][slot]);
    buffers_[thread][slot] = nullptr;
    sizes_[thread][slot] = 0;
    buffers_[thread][slot] = aligned_alloc_or_throw(bytes);
    sizes_[thread][slot] = bytes;
  }
  return buffers_[thread][slot];
}

}  // namespace convkit
