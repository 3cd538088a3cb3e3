#include "settings.hpp"

#include <string>

#include "../runtime/dispatch.hpp"
#include "../runtime/large_pages.hpp"
#include "../runtime/thread_pool.hpp"
#include "arguments.hpp"

namespace convkit {

Napi::Value set_num_threads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() != 1 || !info[0].IsNumber())
      throw Error(ErrorCode::ERR_ARG, "setNumThreads expects one integer, got " +
                                          (info.Length() ? describe(info[0]) : std::string("nothing")));
    const double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 1 && d <= ThreadPool::kMaxThreads) || d != double(int(d)))
      throw Error(ErrorCode::ERR_ARG, "threads must be an integer in [1, " + std::to_string(ThreadPool::kMaxThreads) +
                                          "], got " + info[0].ToString().Utf8Value());
    global_pool().set_num_threads(int(d));
    return info.Env().Undefined();
  });
}

Napi::Value get_num_threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), global_pool().num_threads());
}

// setMemoryLimit(bytes): the largest single buffer (output or workspace) convkit may allocate.
Napi::Value set_memory_limit(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() != 1 || !info[0].IsNumber())
      throw Error(ErrorCode::ERR_ARG, "setMemoryLimit expects one integer number of bytes, got " +
                                          (info.Length() ? describe(info[0]) : std::string("nothing")));
    const double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 1 && d <= 9007199254740991.0) || d != double(int64_t(d)))
      throw Error(ErrorCode::ERR_ARG, "the memory limit must be an integer number of bytes in [1, 2^53-1], got " +
                                          info[0].ToString().Utf8Value());
    set_memory_limit_bytes(int64_t(d));
    return info.Env().Undefined();
  });
}

Napi::Value get_memory_limit(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(memory_limit_bytes()));
}

// Advises huge pages for a new ArrayBuffer, before anything writes it (see large_pages.hpp); a
// buffer holding no whole 2 MiB page is left alone.
Napi::Value advise_large_pages_js(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (info.Length() != 1 || !info[0].IsArrayBuffer())
      throw Error(ErrorCode::ERR_ARG, "adviseLargePages expects an ArrayBuffer, got " +
                                          (info.Length() ? describe(info[0]) : std::string("nothing")));
    Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
    advise_large_pages(buffer.Data(), buffer.ByteLength());
    return info.Env().Undefined();
  });
}

Napi::Value isa(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), active_kernels().isa); });
}

Napi::Value supported_isas_js(const Napi::CallbackInfo& info) {
  const auto names = supported_isas();
  Napi::Array out = Napi::Array::New(info.Env(), names.size());
  for (uint32_t i = 0; i < names.size(); ++i) out.Set(i, names[i]);
  return out;
}

Napi::Value build_info(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const KernelTable& k = active_kernels();
    Napi::Object out = Napi::Object::New(env);
    out.Set("isa", k.isa);
    out.Set("supportedIsas", supported_isas_js(info));
    out.Set("threads", global_pool().num_threads());
    out.Set("cpus", available_cpus());
    auto tile = [&](int mr, int nr) {
      Napi::Object t = Napi::Object::New(env);
      t.Set("mr", mr);
      t.Set("nr", nr);
      return t;
    };
    out.Set("gemmTileFloat32", tile(k.gemm_mr_f32, k.gemm_nr_f32));
    out.Set("gemmTileFloat64", tile(k.gemm_mr_f64, k.gemm_nr_f64));
    out.Set("compiler", __VERSION__);
    out.Set("napiVersion", NAPI_VERSION);
    return out;
  });
}

}  // namespace convkit
