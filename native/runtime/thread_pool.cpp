#include "thread_pool.hpp"

#include <chrono>
#include <cstdlib>
#include <string>

#if defined(__linux__)
#include <sched.h>
#endif

namespace convkit {
namespace {

// Polls `done` for up to `budget` before the caller falls back to a condition variable: ops run
// several parallel regions back to back, and JS spends tens of microseconds between two calls
// (validation, allocating the output), while a futex wake-up costs 5-50 us on a VM each time.
template <class Done>
bool spin_until(Done done, std::chrono::microseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (;;) {
    for (int i = 0; i < 256; ++i) {
      if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

// An idle worker keeps polling this long after its last job; the caller polls for the join.
constexpr std::chrono::microseconds kWorkerSpin{300}, kJoinSpin{100};

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  scratch_.resize(size_t(kMaxThreads + 1) * kSlots);
  start_workers();
}

ThreadPool::~ThreadPool() {
  stop_workers();
  for (auto& s : scratch_) aligned_free(s.ptr);
}

void ThreadPool::start_workers() {
  stopping_ = false;
  // New workers must wait for the next job, not re-run the last one.
  const uint64_t current = generation_;
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i, current] { worker_loop(i, current); });
}

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(job_mutex_);
    stopping_ = true;
  }
  job_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void ThreadPool::set_num_threads(int threads) {
  if (threads < 1 || threads > kMaxThreads)
    throw Error(ErrorCode::ERR_ARG, "threads must be an integer in [1, " + std::to_string(kMaxThreads) + "], got " +
                                        std::to_string(threads));
  std::lock_guard<std::mutex> op(op_mutex_);
  if (threads == threads_) return;
  stop_workers();
  threads_ = threads;
  start_workers();
}

void ThreadPool::run_share(int thread) {
  const int64_t begin = ntasks_ * thread / threads_;
  const int64_t end = ntasks_ * (thread + 1) / threads_;
  try {
    for (int64_t t = begin; t < end; ++t) fn_(ctx_, t, thread);
  } catch (...) {
    std::lock_guard<std::mutex> lock(job_mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::worker_loop(int index, uint64_t seen) {
  for (;;) {
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; }, kWorkerSpin);
    {
      std::unique_lock<std::mutex> lock(job_mutex_);
      job_cv_.wait(lock, [&] { return stopping_ || generation_.load() != seen; });
      if (stopping_) return;
      seen = generation_.load();
    }
    run_share(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Taking the lock orders this notify after the caller's check of pending_.
      std::lock_guard<std::mutex> lock(job_mutex_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::run(int64_t ntasks, void (*fn)(void*, int64_t, int), void* ctx) {
  if (ntasks <= 0) return;
  if (threads_ == 1 || ntasks == 1) {
    for (int64_t t = 0; t < ntasks; ++t) fn(ctx, t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(job_mutex_);
    ntasks_ = ntasks;
    fn_ = fn;
    ctx_ = ctx;
    error_ = nullptr;
    pending_.store(threads_ - 1);
    generation_.fetch_add(1, std::memory_order_release);
  }
  job_cv_.notify_all();
  run_share(0);
  spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; }, kJoinSpin);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(job_mutex_);
    done_cv_.wait(lock, [&] { return pending_.load() == 0; });
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

void* ThreadPool::scratch(int thread, int slot, size_t bytes) {
  if (thread < 0 || thread > threads_ || slot < 0 || slot >= kSlots)
    throw Error(ErrorCode::ERR_INTERNAL, "scratch index out of range");
  // The extra index threads_ is the op's shared buffer; keep it in the last row so that it
  // survives thread-count changes.
  const int row = thread == threads_ ? kMaxThreads : thread;
  return grow_scratch(scratch_[size_t(row) * kSlots + size_t(slot)], bytes, scratch_held_);
}

void ThreadPool::release_scratch(size_t keep_bytes) {
  if (scratch_held_ > keep_bytes) release_scratch_above(scratch_.data(), scratch_.size(), keep_bytes, scratch_held_);
}

int available_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? int(n) : 1;
}

ThreadPool& global_pool() {
  // Never destroyed: worker threads must not be joined from static destructors at exit.
  static ThreadPool* pool = [] {
    int threads = available_cpus();
    if (const char* env = std::getenv("CONVKIT_NUM_THREADS")) {
      int v = std::atoi(env);
      if (v >= 1 && v <= ThreadPool::kMaxThreads) threads = v;
    }
    if (threads > ThreadPool::kMaxThreads) threads = ThreadPool::kMaxThreads;
    return new ThreadPool(threads);
  }();
  return *pool;
}

}  // namespace convkit
