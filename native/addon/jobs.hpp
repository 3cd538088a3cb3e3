// Running a checked call: the Job type the op parsers build, and the sync and async entry
// points that run it (errors.hpp maps what it throws to a JS Error with a `code`).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "../kernels/kernels.hpp"
#include "../runtime/dispatch.hpp"
#include "arguments.hpp"
#include "errors.hpp"
#include "pinned_buffers.hpp"

namespace convkit {

// A fully checked call: plain C++ from here on, safe to run off the JS thread.
struct Job {
  virtual ~Job() = default;
  virtual void execute(Runner& runner) = 0;
};

template <class Fn>
struct TypedJob : Job {
  DType dtype;
  Fn fn;
  TypedJob(DType d, Fn f) : dtype(d), fn(std::move(f)) {}
  void execute(Runner& runner) override {
    const KernelTable& k = active_kernels();
    if (dtype == DType::F32)
      fn(k.f32, float{}, runner);
    else
      fn(k.f64, double{}, runner);
  }
};

template <class Fn>
std::unique_ptr<Job> make_job(DType d, Fn fn) {
  return std::make_unique<TypedJob<Fn>>(d, std::move(fn));
}

// A parser checks one op's arguments and returns its Job. `pins` is null for a sync call; for an
// async one, the parser pins the buffer of every typed array it accepts.
using Parser = std::unique_ptr<Job> (*)(const Napi::CallbackInfo&, PinnedBuffers* pins);

// Runs a sync call's job now, on the calling (JS) thread: with the whole pool when it is free,
// else serially on a runner of this thread's own, so that it never waits behind async work.
void run_sync(Job& job);

// Queues an async call's job on a libuv thread and returns its promise. `pins` keeps the job's
// buffers alive until the promise settles.
Napi::Value start_async(Napi::Env env, std::unique_ptr<Job> job, std::unique_ptr<PinnedBuffers> pins);

// Sets up the per-environment state the async jobs of `env` share (once, in the module's init).
void init_env_state(Napi::Env env);

template <Parser parse>
Napi::Value sync_entry(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto job = parse(info, nullptr);
    run_sync(*job);
    return info.Env().Undefined();
  });
}

template <Parser parse>
Napi::Value async_entry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    return guarded(env, [&]() -> Napi::Value {
      auto pins = std::make_unique<PinnedBuffers>();
      auto job = parse(info, pins.get());
      return start_async(env, std::move(job), std::move(pins));
    });
  } catch (const Napi::Error& e) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Reject(e.Value());
    return deferred.Promise();
  }
}

}  // namespace convkit
