#include "jobs.hpp"

#include <condition_variable>
#include <mutex>

#include "../runtime/thread_pool.hpp"

namespace convkit {

namespace {

void run_on_pool(Job& job) {
  ThreadPool::Lease lease(global_pool());
  job.execute(lease.runner());
}

// Frees what a call left in a runner's scratch beyond the retained budget, also when it threw.
// A JS thread's own runner keeps one thread's worth: it is used only while the pool is busy, and
// every worker_threads environment has one.
struct ReleaseScratchAfter {
  SerialRunner& runner;
  ~ReleaseScratchAfter() { runner.release_scratch(kRetainedScratchBytesPerThread); }
};

}  // namespace

// The pool runs one op at a time, so a sync call that waited for it would wait for every async
// job ahead of it (figures: docs/decisions.md). Run serially
// right here instead: the caller's thread is otherwise idle, blocked in this call. Each JS
// thread (the main one, each worker) has its own serial runner and scratch.
void run_sync(Job& job) {
  {
    ThreadPool::Lease lease(global_pool(), std::try_to_lock);
    if (lease.held()) {
      job.execute(lease.runner());
      return;
    }
  }
  thread_local SerialRunner inline_runner;
  ReleaseScratchAfter release{inline_runner};
  job.execute(inline_runner);
}

namespace {

// What one environment (the main thread or a worker_threads worker) shares with its jobs:
// how many are running and whether the environment is gone. Node (20 and later) finishes the
// thread-pool work of an environment before it runs its cleanup hooks, so the hook normally finds
// nothing to wait for; it still waits for running jobs and turns jobs that have not started into
// no-ops, so that no kernel writes into the ArrayBuffers of a torn-down environment whatever the
// Node version or embedder. Jobs hold it by shared_ptr: it outlives the environment if need be.
class EnvState {
 public:
  // Called before a job's kernel runs; false once the environment is torn down.
  bool begin_job() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (torn_down_) return false;
    ++running_;
    return true;
  }

  void end_job() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--running_ == 0) idle_.notify_all();
  }

  void tear_down() {
    std::unique_lock<std::mutex> lock(mutex_);
    torn_down_ = true;
    idle_.wait(lock, [&] { return running_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable idle_;
  int running_ = 0;
  bool torn_down_ = false;
};

std::shared_ptr<EnvState> env_state(Napi::Env env) {
  auto* state = env.GetInstanceData<std::shared_ptr<EnvState>>();
  if (!state) throw Error(ErrorCode::ERR_INTERNAL, "convkit was not initialised in this environment");
  return *state;
}

// One async call: runs its Job on a libuv thread and settles a promise. Plain N-API rather than
// Napi::AsyncWorker because the completion may run while the environment is being torn down
// (worker.terminate()), when JS cannot run: settling the promise then fails, and that failure
// must be ignored, not thrown (a C++ exception there aborts the process).
class AsyncJob {
 public:
  // The job's buffers stay pinned (PinnedBuffers) until complete() has run on the JS thread, so
  // the caller may drop, transfer or let the GC collect its tensors meanwhile.
  static Napi::Value start(Napi::Env env, std::unique_ptr<Job> job, std::unique_ptr<PinnedBuffers> pins) {
    auto self = std::unique_ptr<AsyncJob>(new AsyncJob(std::move(job), std::move(pins), env_state(env)));
    napi_value promise = nullptr;
    NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &self->deferred_, &promise), Napi::Value());
    napi_value name = Napi::String::New(env, "convkit");
    if (napi_create_async_work(env, nullptr, name, execute, complete, self.get(), &self->work_) != napi_ok ||
        napi_queue_async_work(env, self->work_) != napi_ok) {
      if (self->work_) napi_delete_async_work(env, self->work_);
      napi_reject_deferred(env, self->deferred_,
                           coded_error(env, ErrorCode::ERR_INTERNAL, "could not queue the async job").Value());
      return Napi::Value(env, promise);
    }
    self.release();  // owned by the queued work until complete()
    return Napi::Value(env, promise);
  }

 private:
  AsyncJob(std::unique_ptr<Job> job, std::unique_ptr<PinnedBuffers> pins, std::shared_ptr<EnvState> state)
      : job_(std::move(job)), pins_(std::move(pins)), state_(std::move(state)) {}

  static void execute(napi_env, void* data) {
    auto* self = static_cast<AsyncJob*>(data);
    if (!self->state_->begin_job()) {
      self->fail(ErrorCode::ERR_INTERNAL, "the environment was torn down before the job ran");
      return;
    }
    try {
      run_on_pool(*self->job_);
    } catch (...) {
      const CaughtError e = caught_error();
      self->fail(e.code, e.message);
    }
    self->state_->end_job();
  }

  // On the JS thread. Statuses of the settling calls are ignored on purpose: they fail only
  // when the environment is going away, and then nobody awaits the promise.
  static void complete(napi_env env, napi_status status, void* data) {
    std::unique_ptr<AsyncJob> self(static_cast<AsyncJob*>(data));
    napi_delete_async_work(env, self->work_);
    if (status == napi_cancelled) self->fail(ErrorCode::ERR_INTERNAL, "the async job was cancelled");
    if (self->failed_) {
      napi_value code = nullptr, message = nullptr, error = nullptr;
      if (napi_create_string_utf8(env, error_code_name(self->code_), NAPI_AUTO_LENGTH, &code) == napi_ok &&
          napi_create_string_utf8(env, self->message_.c_str(), self->message_.size(), &message) == napi_ok &&
          napi_create_error(env, code, message, &error) == napi_ok)
        napi_reject_deferred(env, self->deferred_, error);
    } else {
      napi_value undefined = nullptr;
      if (napi_get_undefined(env, &undefined) == napi_ok) napi_resolve_deferred(env, self->deferred_, undefined);
    }
  }

  void fail(ErrorCode code, const std::string& message) {
    failed_ = true;
    code_ = code;
    message_ = message;
  }

  std::unique_ptr<Job> job_;
  std::unique_ptr<PinnedBuffers> pins_;
  std::shared_ptr<EnvState> state_;
  napi_deferred deferred_ = nullptr;
  napi_async_work work_ = nullptr;
  bool failed_ = false;
  ErrorCode code_ = ErrorCode::ERR_INTERNAL;
  std::string message_;
};

}  // namespace

Napi::Value start_async(Napi::Env env, std::unique_ptr<Job> job, std::unique_ptr<PinnedBuffers> pins) {
  return AsyncJob::start(env, std::move(job), std::move(pins));
}

void init_env_state(Napi::Env env) {
  auto state = std::make_shared<EnvState>();
  env.SetInstanceData(new std::shared_ptr<EnvState>(state));  // deleted by Node with the env
  env.AddCleanupHook([state] { state->tear_down(); });
}

}  // namespace convkit
