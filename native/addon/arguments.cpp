#include "arguments.hpp"

namespace convkit {
namespace {

const char* dtype_name(DType d) { return d == DType::F32 ? "float32" : "float64"; }

// The elements of typed array `v` (of a type the caller checked). With `pins` (an async call),
// its buffer is pinned for the job's lifetime; see pinned_buffers.hpp.
View unwrap(const Napi::Value& v, const char* name, PinnedBuffers* pins) {
  napi_typedarray_type type;
  size_t length = 0, byte_offset = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  if (napi_get_typedarray_info(v.Env(), v, &type, &length, &data, &buffer, &byte_offset) != napi_ok)
    throw Error(ErrorCode::ERR_INTERNAL, std::string(name) + ": could not read the typed array");
  View view;
  view.length = int64_t(length);
  view.bytes_per_element = type == napi_float64_array ? 8 : 4;
  view.present = true;
  view.data = data;
  if (!view.data && view.length > 0)
    throw Error(ErrorCode::ERR_ARG, std::string(name) + " has no backing store (its ArrayBuffer was detached?)");
  if (pins) pins->pin(buffer, name);
  return view;
}

}  // namespace

std::string describe(const Napi::Value& v) {
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_float32_array:
        return "Float32Array";
      case napi_float64_array:
        return "Float64Array";
      case napi_int32_array:
        return "Int32Array";
      default:
        return "another typed array";
    }
  }
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsArray()) return "an Array";
  switch (v.Type()) {
    case napi_number:
      return "a number";
    case napi_string:
      return "a string";
    case napi_boolean:
      return "a boolean";
    case napi_bigint:
      return "a bigint";
    case napi_symbol:
      return "a symbol";
    case napi_function:
      return "a function";
    default:
      return "an object";
  }
}

View FloatArgs::get(const Napi::Value& v, const char* name, bool nullable) {
  if (nullable && (v.IsNull() || v.IsUndefined())) return View{};
  const bool is_f32 = v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
  const bool is_f64 = v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array;
  if (!is_f32 && !is_f64)
    throw Error(ErrorCode::ERR_DTYPE, std::string(name) + " must be a Float32Array or Float64Array" +
                                          (nullable ? " or null" : "") + ", got " + describe(v));
  const DType d = is_f32 ? DType::F32 : DType::F64;
  if (dtype_known && d != dtype)
    throw Error(ErrorCode::ERR_DTYPE,
                std::string(name) + " must be " + dtype_name(dtype) + " like the other tensors, got " + dtype_name(d));
  dtype_known = true;
  dtype = d;
  return unwrap(v, name, pins);
}

View int32_arg(const Napi::Value& v, const char* name, bool nullable, PinnedBuffers* pins) {
  if (nullable && (v.IsNull() || v.IsUndefined())) return View{};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Error(ErrorCode::ERR_DTYPE,
                std::string(name) + " must be an Int32Array" + (nullable ? " or null" : "") + ", got " + describe(v));
  return unwrap(v, name, pins);
}

void require_args(const Napi::CallbackInfo& info, size_t count, const char* fn) {
  if (info.Length() != count)
    throw Error(ErrorCode::ERR_ARG, std::string(fn) + " expects " + std::to_string(count) + " arguments, got " +
                                        std::to_string(info.Length()));
}

void throw_length(const View& v, int64_t expected, const char* name) {
  throw Error(ErrorCode::ERR_SHAPE, std::string(name) + " must have " + std::to_string(expected) +
                                        " elements for the given shape, got " + std::to_string(v.length));
}

void require_disjoint(const View& out, const char* out_name,
                      std::initializer_list<std::pair<const View*, const char*>> others) {
  const auto* begin = static_cast<const uint8_t*>(out.data);
  const auto* end = begin + out.length * int64_t(out.bytes_per_element);
  for (const auto& [other, name] : others) {
    if (!other->present || other->length == 0 || out.length == 0) continue;
    const auto* other_begin = static_cast<const uint8_t*>(other->data);
    const auto* other_end = other_begin + other->length * int64_t(other->bytes_per_element);
    if (begin < other_end && other_begin < end)
      throw Error(ErrorCode::ERR_ARG, std::string(out_name) + " must not share memory with " + name);
  }
}

ParamValues::ParamValues(const Napi::Value& v, uint32_t count, const char* const* names, const char* what)
    : names_(names), what_(what) {
  if (!v.IsArray())
    throw Error(ErrorCode::ERR_ARG,
                std::string(what) + " must be an Array of " + std::to_string(count) + " numbers, got " + describe(v));
  auto array = v.As<Napi::Array>();
  if (array.Length() != count)
    throw Error(ErrorCode::ERR_ARG, std::string(what) + " must have " + std::to_string(count) + " entries, got " +
                                        std::to_string(array.Length()));
  for (uint32_t i = 0; i < count; ++i) {
    Napi::Value e = array.Get(i);
    if (!e.IsNumber()) throw Error(ErrorCode::ERR_ARG, field_name(i) + " must be a number, got " + describe(e));
    values_[i] = e.As<Napi::Number>().DoubleValue();
  }
}

int64_t ParamValues::integer(uint32_t field) const {
  const double d = values_[field];
  if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) || d != double(int64_t(d)))
    throw Error(ErrorCode::ERR_ARG, field_name(field) + " must be an integer, got " + std::to_string(d));
  return int64_t(d);
}

bool ParamValues::flag(uint32_t field) const {
  const double d = values_[field];
  if (d != 0 && d != 1)
    throw Error(ErrorCode::ERR_ARG, field_name(field) + " must be 0 or 1, got " + std::to_string(d));
  return d == 1;
}

void ParamValues::throw_bad_code(uint32_t field, const char* const* names, int64_t count) const {
  std::string expected;
  for (int64_t i = 0; i < count; ++i)
    expected += (i == 0 ? "" : i + 1 == count ? " or " : ", ") + std::to_string(i) + " (" + names[i] + ")";
  throw Error(ErrorCode::ERR_ARG,
              field_name(field) + " must be " + expected + ", got " + std::to_string(values_[field]));
}

std::string ParamValues::field_name(uint32_t field) const { return std::string(what_) + "." + names_[field]; }

}  // namespace convkit
