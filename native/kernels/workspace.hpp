// Per-thread workspaces of the kernels: the scratch slots and the checked way to get one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>

#include "checked.hpp"
#include "common.hpp"
#include "isa/config.hpp"
#include "plan.hpp"

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

// Bytes of `elements` elements of T, saturated (kSaturated): the kernels' workspace sizes are
// saturated element counts, which scratch_of refuses (ERR_TOO_LARGE) when they run, while a
// plan only reports them.
template <class T>
int64_t elements_bytes(int64_t elements) {
  return saturating_product({elements, int64_t(sizeof(T))});
}

// Whether `thread` of `threads` runs at least one of `tasks` tasks: the Runner's static split
// (thread t takes tasks [t*n/T, (t+1)*n/T)), except that a single task runs on thread 0 (the
// pool runs it inline, as does any one-thread runner).
inline bool runs_a_task(int thread, int threads, int64_t tasks) {
  if (tasks <= 0) return false;
  if (tasks == 1) return thread == 0;
  if (tasks >= threads) return true;
  return tasks * (thread + 1) / threads > tasks * thread / threads;
}

// The scratch one op asks its runner for, declared by the same workspace structs its kernels
// size their requests with. A runner keeps one buffer per (thread, slot), grown to the largest
// request made to it, so the op's workspace is the sum over (thread, slot) of the largest
// request: per-thread requests only on the threads that run a task, the shared buffer
// (thread == num_threads()) once per slot. Fixed storage: plans are made every call.
class WorkspaceTally {
 public:
  explicit WorkspaceTally(int threads) : threads_(threads < 1 ? 1 : threads) {}
  int threads() const { return threads_; }

  // Each of `tasks` tasks of one parallel_for requests `bytes` in `slot` on its own thread;
  // with from_thread_1, thread 0 does not (it writes into the op's output instead).
  void per_thread(int slot, int64_t bytes, int64_t tasks, bool from_thread_1 = false) {
    if (count_ == kMaxRequests) throw_unexecutable_conv("more workspace requests than WorkspaceTally holds");
    requests_[count_++] = Request{slot, bytes, tasks, from_thread_1};
  }
  // One request of the op's shared buffer of `slot`.
  void shared(int slot, int64_t bytes) { shared_[slot] = std::max(shared_[slot], bytes); }

  // The sum over (thread, slot) of the largest request (kSaturated if it does not fit int64).
  int64_t bytes() const {
    int64_t total = 0;
    for (int slot = 0; slot < Runner::kSlots; ++slot) {
      total = saturating_sum(total, shared_[slot]);
      // The common case: every thread requests the slot's largest size.
      int64_t largest = 0;
      bool every_thread = true;
      for (int i = 0; i < count_; ++i)
        if (requests_[i].slot == slot) {
          largest = std::max(largest, requests_[i].bytes);
          every_thread &= requests_[i].tasks >= threads_ && !requests_[i].from_thread_1;
        }
      if (largest == 0) continue;
      if (every_thread) {
        total = saturating_sum(total, saturating_product({largest, threads_}));
        continue;
      }
      for (int t = 0; t < threads_; ++t) {
        int64_t held = 0;
        for (int i = 0; i < count_; ++i) {
          const Request& q = requests_[i];
          if (q.slot == slot && (t > 0 || !q.from_thread_1) && runs_a_task(t, threads_, q.tasks))
            held = std::max(held, q.bytes);
        }
        total = saturating_sum(total, held);
      }
    }
    return total;
  }

 private:
  struct Request {
    int slot;
    int64_t bytes, tasks;
    bool from_thread_1;
  };
  static constexpr int kMaxRequests = 16;
  int threads_;
  int count_ = 0;
  int64_t shared_[Runner::kSlots] = {};
  Request requests_[kMaxRequests] = {};
};

}  // namespace CONVKIT_ISA
}  // namespace convkit
