// Reading a call's arguments: typed arrays unwrapped without copying (and pinned for an async
// call), parameter arrays read by the schema (native/generated/params.hpp), and the checks
// every op repeats (element counts, outputs sharing no memory with inputs).
#pragma once

#include "errors.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "../generated/params.hpp"
#include "pinned_buffers.hpp"

namespace convkit {

enum class DType { F32, F64 };

// A typed array argument: where its elements are and how many.
struct View {
  void* data = nullptr;
  int64_t length = 0;
  size_t bytes_per_element = 0;
  bool present = false;
};

template <class T>
T* as(const View& v) {
  return static_cast<T*>(v.data);
}

// "a Float32Array", "null", "a string"...: what a message says it got.
std::string describe(const Napi::Value& v);

// Float tensor arguments: all of one call share the dtype of the first. With `pins` (an async
// call), each buffer is pinned for the job's lifetime; see pinned_buffers.hpp.
struct FloatArgs {
  PinnedBuffers* pins = nullptr;
  bool dtype_known = false;
  DType dtype = DType::F32;

  View get(const Napi::Value& v, const char* name, bool nullable = false);
};

View int32_arg(const Napi::Value& v, const char* name, bool nullable, PinnedBuffers* pins);

void require_args(const Napi::CallbackInfo& info, size_t count, const char* fn);

[[noreturn]] void throw_length(const View& v, int64_t expected, const char* name);

// v must have exactly `expected` elements.
inline void require_length(const View& v, int64_t expected, const char* name) {
  if (v.length != expected) throw_length(v, expected, name);
}

// Outputs must not share memory with any other argument (the kernels read inputs while
// writing outputs).
void require_disjoint(const View& out, const char* out_name,
                      std::initializer_list<std::pair<const View*, const char*>> others);

// An element-wise output may be one of its inputs exactly (in place), or disjoint from it.
inline void require_same_or_disjoint(const View& out, const char* out_name, const View& in, const char* in_name) {
  if (out.data != in.data) require_disjoint(out, out_name, {{&in, in_name}});
}

// The values of one parameter array, read once and checked field by field as the schema's
// reader asks for them. Messages name the array and the field as JS spells them
// ("conv params.strideH must be an integer, got 1.5").
class ParamValues {
 public:
  ParamValues(const Napi::Value& array, uint32_t count, const char* const* names, const char* what);

  int64_t integer(uint32_t field) const;
  double number(uint32_t field) const { return values_[field]; }
  bool flag(uint32_t field) const;

  template <class Enum>
  Enum code(uint32_t field) const {
    const int64_t value = integer(field);
    if (value < 0 || value >= EnumSchema<Enum>::kCount)
      throw_bad_code(field, EnumSchema<Enum>::kNames, EnumSchema<Enum>::kCount);
    return Enum(value);
  }

 private:
  [[noreturn]] void throw_bad_code(uint32_t field, const char* const* names, int64_t count) const;
  std::string field_name(uint32_t field) const;

  double values_[kMaxParamCount];
  const char* const* names_;
  const char* what_;
};

// The kernels' struct for a parameter array described by `Schema` (a *Params struct of
// native/generated/params.hpp). Read every parameter array before any typed array: reading an
// Array element can run JS (an accessor), which could detach a buffer already unwrapped.
template <class Schema>
typename Schema::Struct read_params(const Napi::Value& array) {
  const ParamValues values(array, Schema::kCount, Schema::kNames, Schema::kWhat);
  return Schema::read(values);
}

}  // namespace convkit
