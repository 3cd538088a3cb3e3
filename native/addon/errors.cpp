#include "errors.hpp"

#include <new>

namespace convkit {

Napi::Error coded_error(Napi::Env env, ErrorCode code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, error_code_name(code)));
  return error;
}

CaughtError caught_error() {
  try {
    throw;
  } catch (const Error& e) {
    return {e.error_code(), e.what()};
  } catch (const std::bad_alloc&) {
    return {ErrorCode::ERR_ALLOC, "out of memory"};
  } catch (const std::exception& e) {
    return {ErrorCode::ERR_INTERNAL, e.what()};
  } catch (...) {
    return {ErrorCode::ERR_INTERNAL, "unknown native error"};
  }
}

}  // namespace convkit
