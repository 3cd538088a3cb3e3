// Runner scratch bookkeeping (issue 13 item 3): the memory limit refuses a workspace before it is
// allocated, a call's oversized scratch is freed when it ends (largest buffers first) while the
// usual working set stays warm, and a sync caller can tell that the pool is busy (issue 13
// item 8).
#include <cstring>
#include <string>
#include <thread>

#include "../kernels/common.hpp"
#include "../runtime/thread_pool.hpp"
#include "test_util.hpp"

using convkit::test::check;

namespace {

// The code of the convkit::Error `fn` throws, or "" if it throws none.
template <class F>
std::string error_code(F&& fn) {
  try {
    fn();
  } catch (const convkit::Error& e) {
    return e.code();
  }
  return "";
}

constexpr size_t MiB = size_t(1) << 20;

void serial_runner_limit() {
  convkit::SerialRunner runner;
  convkit::set_memory_limit_bytes(int64_t(MiB));
  check(error_code([&] { runner.scratch(0, 0, MiB + 1); }) == "ERR_TOO_LARGE",
        "serial: a request above the limit is ERR_TOO_LARGE");
  check(runner.scratch_bytes_held() == 0, "serial: nothing allocated for a refused request");
  check(runner.scratch(0, 0, MiB) != nullptr, "serial: a request at the limit is served");
  convkit::set_memory_limit_bytes(convkit::kDefaultMemoryLimitBytes);
  check(convkit::memory_limit_bytes() == convkit::kDefaultMemoryLimitBytes, "the limit reads back");
}

void serial_runner_release() {
  convkit::SerialRunner runner;
  void* big = runner.scratch(0, 0, 8 * MiB);
  void* small = runner.scratch(0, 1, 1 * MiB);
  void* mid = runner.scratch(1, 2, 2 * MiB);
  std::memset(big, 1, 8 * MiB);
  check(runner.scratch_bytes_held() == 11 * MiB, "serial: held bytes add up");
  runner.release_scratch(4 * MiB);
  check(runner.scratch_bytes_held() == 3 * MiB, "serial: only the largest buffer was freed");
  check(runner.scratch(0, 1, 1 * MiB) == small && runner.scratch(1, 2, 2 * MiB) == mid,
        "serial: the smaller buffers stay warm");
  runner.release_scratch(0);
  check(runner.scratch_bytes_held() == 0, "serial: release to 0 frees everything");
  check(runner.scratch(0, 0, 64) != nullptr, "serial: scratch is usable again after a release");
}

void pool_release_after_lease() {
  convkit::ThreadPool pool(2);
  void* warm = nullptr;
  {
    convkit::ThreadPool::Lease lease(pool);
    warm = lease.runner().scratch(0, 0, MiB);
    lease.runner().scratch(2, 3, 100 * MiB);  // the shared buffer of a one-off large call
  }
  {
    convkit::ThreadPool::Lease lease(pool);
    check(pool.scratch_bytes_held() == MiB,
          "pool: the 100 MiB buffer was freed when the lease ended, the 1 MiB one kept");
    check(lease.runner().scratch(0, 0, MiB) == warm, "pool: the small buffer is the same warm one");
  }
  convkit::set_memory_limit_bytes(int64_t(4 * MiB));
  {
    convkit::ThreadPool::Lease lease(pool);
    std::string code;
    try {
      convkit::parallel_for(lease.runner(), 2,
                            [&](int64_t, int thread) { lease.runner().scratch(thread, 1, 5 * MiB); });
    } catch (const convkit::Error& e) {
      code = e.code();
    }
    check(code == "ERR_TOO_LARGE", "pool: a request above the limit on a worker thread is ERR_TOO_LARGE");
  }
  convkit::set_memory_limit_bytes(convkit::kDefaultMemoryLimitBytes);
}

void pool_try_lease() {
  convkit::ThreadPool pool(2);
  bool busy_seen = false;
  {
    convkit::ThreadPool::Lease lease(pool);
    std::thread other([&] {
      convkit::ThreadPool::Lease attempt(pool, std::try_to_lock);
      busy_seen = !attempt.held();
    });
    other.join();
  }
  check(busy_seen, "pool: a try-lease fails while another op holds the pool");
  convkit::ThreadPool::Lease attempt(pool, std::try_to_lock);
  check(attempt.held(), "pool: a try-lease succeeds on an idle pool");
}

}  // namespace

int main() {
  serial_runner_limit();
  serial_runner_release();
  pool_release_after_lease();
  pool_try_lease();
  return convkit::test::finish("test_runtime");
}
