#include "pinned_buffers.hpp"

// V8's headers have unused parameters; our -Wextra -Werror is for our code, not theirs.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#include <v8.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <cstring>
#include <string>

#include "../kernels/common.hpp"

namespace convkit {
namespace {

// A napi_value is a v8::Local<v8::Value> under another type in Node's N-API implementation: the
// same single pointer to a handle slot, so the bits convert as they are.
v8::Local<v8::Value> to_local(napi_value value) {
  v8::Local<v8::Value> local;
  static_assert(sizeof(local) == sizeof(value), "napi_value and v8::Local differ in size");
  std::memcpy(static_cast<void*>(&local), &value, sizeof(value));
  return local;
}

}  // namespace

void PinnedBuffers::pin(napi_value array_buffer, const char* name) {
  v8::Local<v8::Value> value = to_local(array_buffer);
  if (value.IsEmpty()) throw Error(ErrorCode::ERR_INTERNAL, std::string(name) + ": no buffer to pin");
  if (value->IsArrayBuffer()) {
    std::shared_ptr<v8::BackingStore> store = value.As<v8::ArrayBuffer>()->GetBackingStore();
    if (store->IsResizableByUserJavaScript())
      throw Error(ErrorCode::ERR_ARG,
                  std::string(name) +
                      " must not be backed by a resizable ArrayBuffer in an async call (resize() could "
                      "free its memory while the call runs); got one with maxByteLength " +
                      std::to_string(store->MaxByteLength()) + ", use a fixed-length buffer or the sync call");
    stores_.push_back(std::move(store));
  } else if (value->IsSharedArrayBuffer()) {
    // A growable SharedArrayBuffer can only grow, and growing commits pages in place: holding
    // the store is enough.
    stores_.push_back(value.As<v8::SharedArrayBuffer>()->GetBackingStore());
  } else {
    throw Error(ErrorCode::ERR_INTERNAL,
                std::string(name) + ": the typed array's buffer is neither an ArrayBuffer nor a SharedArrayBuffer");
  }
}

}  // namespace convkit
