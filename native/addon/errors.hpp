// Errors across the boundary: every C++ exception becomes a JS Error whose `code` is one of
// schema/boundary.json's error codes (ErrorCode), with the message unchanged.
#pragma once

// While a worker_threads environment is terminated, JS calls into the addon can fail to throw
// (JS cannot run any more); without this, node-addon-api turns that into std::terminate.
#define NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#include <napi.h>

#include <string>

#include "../kernels/common.hpp"

namespace convkit {

Napi::Error coded_error(Napi::Env env, ErrorCode code, const std::string& message);

// The code and message of the C++ exception being handled; call only inside a catch block.
struct CaughtError {
  ErrorCode code;
  std::string message;
};
CaughtError caught_error();

// Runs `body`, turning every C++ exception into a coded JS exception.
template <class F>
Napi::Value guarded(Napi::Env env, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    const CaughtError e = caught_error();
    throw coded_error(env, e.code, e.message);
  }
}

}  // namespace convkit
