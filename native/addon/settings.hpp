// The addon's functions that run no kernel: thread count, memory limit, huge-page advice and
// what the build and CPU offer.
#pragma once

#include "errors.hpp"

namespace convkit {

Napi::Value set_num_threads(const Napi::CallbackInfo& info);
Napi::Value get_num_threads(const Napi::CallbackInfo& info);
Napi::Value set_memory_limit(const Napi::CallbackInfo& info);
Napi::Value get_memory_limit(const Napi::CallbackInfo& info);
Napi::Value advise_large_pages_js(const Napi::CallbackInfo& info);
Napi::Value isa(const Napi::CallbackInfo& info);
Napi::Value supported_isas_js(const Napi::CallbackInfo& info);
Napi::Value build_info(const Napi::CallbackInfo& info);

}  // namespace convkit
