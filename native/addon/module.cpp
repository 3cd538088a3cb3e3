// The addon's entry: what require() runs once per environment (the main thread, each worker).
// It resolves the ISA, sets up the environment's job state (jobs.cpp) and exports every
// function: the ops (ops/, each sync and, for the kernels, Async) and the settings.
#if !defined(_WIN32)
#include <dlfcn.h>
#endif

#include "../runtime/dispatch.hpp"
#include "jobs.hpp"
#include "ops/ops.hpp"
#include "settings.hpp"

namespace convkit {
namespace {

// Node unloads an addon when the last environment that loaded it goes away (all the workers that
// used it were terminated, the main thread never did). The process-wide thread pool's threads
// run this library's code and outlive any environment, so the library must stay mapped.
void keep_library_loaded() {
#if !defined(_WIN32)
  Dl_info self;
  if (dladdr(reinterpret_cast<void*>(&keep_library_loaded), &self) && self.dli_fname)
    dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);  // a no-op after the first env
#endif
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  keep_library_loaded();
  // Resolve the ISA now so that a bad CONVKIT_ISA fails at require() with a clear error.
  guarded(env, [&]() -> Napi::Value {
    active_kernels();
    return env.Undefined();
  });
  init_env_state(env);
  auto add = [&](const char* name, Napi::Function::Callback fn) {
    exports.Set(name, Napi::Function::New(env, fn, name));
  };
  add("conv2dForward", sync_entry<parse_conv2d_forward>);
  add("conv2dPackedWeightsLength", conv2d_packed_weights_length);
  add("conv2dPackWeights", sync_entry<parse_conv2d_pack_weights>);
  add("conv2dPlan", conv2d_plan);
  add("conv2dBackwardInput", sync_entry<parse_conv2d_backward_input>);
  add("conv2dBackwardFilter", sync_entry<parse_conv2d_backward_filter>);
  add("pool2dForward", sync_entry<parse_pool2d_forward>);
  add("pool2dBackward", sync_entry<parse_pool2d_backward>);
  add("pool2dPlan", pool2d_plan);
  add("zeroPad", sync_entry<parse_zero_pad>);
  add("gemm", sync_entry<parse_gemm>);
  add("relu", sync_entry<parse_relu>);
  add("reluBackward", sync_entry<parse_relu_backward>);
  add("adam", sync_entry<parse_adam>);
  add("conv2dForwardAsync", async_entry<parse_conv2d_forward>);
  add("conv2dBackwardInputAsync", async_entry<parse_conv2d_backward_input>);
  add("conv2dBackwardFilterAsync", async_entry<parse_conv2d_backward_filter>);
  add("pool2dForwardAsync", async_entry<parse_pool2d_forward>);
  add("pool2dBackwardAsync", async_entry<parse_pool2d_backward>);
  add("zeroPadAsync", async_entry<parse_zero_pad>);
  add("gemmAsync", async_entry<parse_gemm>);
  add("adviseLargePages", advise_large_pages_js);
  add("setNumThreads", set_num_threads);
  add("setMemoryLimit", set_memory_limit);
  add("getMemoryLimit", get_memory_limit);
  add("getNumThreads", get_num_threads);
  add("isa", isa);
  add("supportedIsas", supported_isas_js);
  add("buildInfo", build_info);
  return exports;
}

}  // namespace
}  // namespace convkit

Napi::Object InitConvkitAddon(Napi::Env env, Napi::Object exports) { return convkit::init(env, exports); }

NODE_API_MODULE(NODE_GYP_MODULE_NAME, InitConvkitAddon)
