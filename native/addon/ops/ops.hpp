// The op parsers, one file per op family: each checks one call's arguments against its shape
// (read by the schema, native/generated/params.hpp) and returns the Job that runs it. The same
// parser serves the sync entry and, with `pins`, the async one (module.cpp registers both).
#pragma once

#include <memory>

#include "../jobs.hpp"

namespace convkit {

// conv.cpp
std::unique_ptr<Job> parse_conv2d_forward(const Napi::CallbackInfo& info, PinnedBuffers* pins);
std::unique_ptr<Job> parse_conv2d_pack_weights(const Napi::CallbackInfo& info, PinnedBuffers* pins);
std::unique_ptr<Job> parse_conv2d_backward_input(const Napi::CallbackInfo& info, PinnedBuffers* pins);
std::unique_ptr<Job> parse_conv2d_backward_filter(const Napi::CallbackInfo& info, PinnedBuffers* pins);
Napi::Value conv2d_packed_weights_length(const Napi::CallbackInfo& info);
Napi::Value conv2d_plan(const Napi::CallbackInfo& info);

// pool.cpp
std::unique_ptr<Job> parse_pool2d_forward(const Napi::CallbackInfo& info, PinnedBuffers* pins);
std::unique_ptr<Job> parse_pool2d_backward(const Napi::CallbackInfo& info, PinnedBuffers* pins);
Napi::Value pool2d_plan(const Napi::CallbackInfo& info);

// pad.cpp
std::unique_ptr<Job> parse_zero_pad(const Napi::CallbackInfo& info, PinnedBuffers* pins);

// gemm.cpp (linear layers)
std::unique_ptr<Job> parse_gemm(const Napi::CallbackInfo& info, PinnedBuffers* pins);

// elementwise.cpp (activations and optimiser steps)
std::unique_ptr<Job> parse_relu(const Napi::CallbackInfo& info, PinnedBuffers* pins);
std::unique_ptr<Job> parse_relu_backward(const Napi::CallbackInfo& info, PinnedBuffers* pins);
std::unique_ptr<Job> parse_adam(const Napi::CallbackInfo& info, PinnedBuffers* pins);

}  // namespace convkit
