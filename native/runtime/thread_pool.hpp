// One persistent pool of worker threads shared by every op (and every worker_threads
// environment) in the process. An op takes the pool for its whole duration through a Lease, so
// concurrent async ops queue here instead of oversubscribing the cores.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "../kernels/common.hpp"

namespace convkit {

class ThreadPool : public Runner {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const override { return threads_; }
  void run(int64_t ntasks, void (*fn)(void*, int64_t, int), void* ctx) override;
  void* scratch(int thread, int slot, size_t bytes) override;

  // Holds the pool exclusively; the thread count can only change between leases. Scratch beyond
  // retained_scratch_bytes() is freed when the lease ends.
  class Lease {
   public:
    explicit Lease(ThreadPool& pool) : pool_(pool), lock_(pool.op_mutex_) {}
    // Takes the pool only if no other op holds it; check held().
    Lease(ThreadPool& pool, std::try_to_lock_t) : pool_(pool), lock_(pool.op_mutex_, std::try_to_lock) {}
    ~Lease() {
      if (lock_.owns_lock()) pool_.release_scratch(retained_scratch_bytes(pool_.threads_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    bool held() const { return lock_.owns_lock(); }
    Runner& runner() { return pool_; }

   private:
    ThreadPool& pool_;
    std::unique_lock<std::mutex> lock_;
  };

  // Waits for the op in flight (if any), then resizes. 1 <= threads <= kMaxThreads.
  void set_num_threads(int threads);

  // Bytes of scratch currently allocated (for tests; read it while holding a lease).
  size_t scratch_bytes_held() const { return scratch_held_; }
  static constexpr int kMaxThreads = kMaxRunnerThreads;

 private:
  void start_workers();
  void stop_workers();
  void worker_loop(int index, uint64_t seen);
  void run_share(int thread);
  void release_scratch(size_t keep_bytes);

  int threads_;
  std::mutex op_mutex_;  // one op at a time

  // Job state, written under job_mutex_. generation_ and pending_ are atomic so that threads can
  // spin on them briefly before sleeping on the condition variables.
  std::mutex job_mutex_;
  std::condition_variable job_cv_;
  std::condition_variable done_cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stopping_ = false;
  int64_t ntasks_ = 0;
  void (*fn_)(void*, int64_t, int) = nullptr;
  void* ctx_ = nullptr;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;

  // [thread (+1 shared)][slot], flattened; written only by the op holding the lease.
  std::vector<ScratchBuffer> scratch_;
  std::atomic<size_t> scratch_held_{0};
};

// The process-wide pool, created on first use with as many threads as CPUs available to the
// process (sched_getaffinity), or CONVKIT_NUM_THREADS when set.
ThreadPool& global_pool();

// CPUs this process may run on.
int available_cpus();

}  // namespace convkit
