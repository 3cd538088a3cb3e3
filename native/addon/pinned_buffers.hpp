// Keeps the memory behind an async job's typed arrays alive until the job is done.
//
// The async job's kernel runs on a pool thread while JS goes on. Keeping the JS objects
// referenced is not enough: JS can detach an ArrayBuffer (structuredClone or postMessage with a
// transfer list) and let the GC free its memory, or shrink a resizable one, while the kernel
// still reads or writes it. N-API has no call that pins an ArrayBuffer's memory, so this holds
// V8's std::shared_ptr<v8::BackingStore> of each buffer: the memory is then freed only when both
// JS and the job have let go of it. A detached buffer's memory moves, whole and at the same
// address, to whoever received it, so the job keeps writing valid memory (what the receiver then
// sees is a data race it asked for). Resizable ArrayBuffers are refused instead: shrinking one
// decommits its pages in place, whatever holds the backing store.
//
// This uses V8's C++ API next to N-API, which ties the binary to the Node ABI it was built for
// (NODE_MODULE_VERSION), as node-gyp builds always are; a prebuilt binary needs one build per
// Node major version. Measured cost: see the commit that added this file.
#pragma once

#include <node_api.h>

#include <memory>
#include <vector>

namespace convkit {

class PinnedBuffers {
 public:
  // Holds the backing store of `array_buffer` (an ArrayBuffer or a SharedArrayBuffer, as
  // napi_get_typedarray_info returns it) until this object is destroyed. Throws ERR_ARG naming
  // `name` when the buffer is a resizable ArrayBuffer. Call on the JS thread.
  void pin(napi_value array_buffer, const char* name);

 private:
  // shared_ptr<v8::BackingStore>, type-erased so that only pinned_buffers.cpp includes v8.h.
  std::vector<std::shared_ptr<void>> stores_;
};

}  // namespace convkit
