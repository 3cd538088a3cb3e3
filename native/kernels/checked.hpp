// Overflow-checked size arithmetic. Shapes are validated, but workspaces are products of several
// validated quantities (channels x padded rows x padded columns...), and a product that wraps
// asks the allocator for a few bytes that the kernel then overruns; so every workspace size is
// computed here, and a path is chosen by comparing saturated products with a bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

#include "common.hpp"

namespace convkit {

constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max();

// Product of non-negative factors, or kSaturated when it does not fit in int64 (or a factor is
// negative): only for comparing with a bound.
inline int64_t saturating_product(std::initializer_list<int64_t> factors) {
  int64_t total = 1;
  for (int64_t f : factors) {
    if (f < 0 || __builtin_mul_overflow(total, f, &total)) return kSaturated;
  }
  return total;
}

inline int64_t saturating_sum(int64_t a, int64_t b) {
  int64_t sum;
  return a < 0 || b < 0 || __builtin_add_overflow(a, b, &sum) ? kSaturated : sum;
}

// The throws are out of line and cold: inlined, their string building sat in the kernels' task
// bodies and slowed them (docs/decisions.md).
[[noreturn]] __attribute__((noinline, cold)) inline void throw_workspace_bytes(int64_t count, size_t element_size) {
  throw Error(ErrorCode::ERR_TOO_LARGE, "a kernel workspace of " + std::to_string(count) + " elements of " +
                                            std::to_string(element_size) + " bytes exceeds the address space");
}

[[noreturn]] __attribute__((noinline, cold)) inline void throw_workspace_elements(
    std::initializer_list<int64_t> factors) {
  std::string product;
  for (int64_t f : factors) product += (product.empty() ? "" : " x ") + std::to_string(f);
  throw Error(ErrorCode::ERR_TOO_LARGE, "a kernel workspace of " + product + " elements exceeds the address space");
}

// Bytes for `count` elements of `element_size` bytes, or ERR_TOO_LARGE when that does not fit
// (a negative count is a product that already wrapped).
inline size_t checked_bytes(int64_t count, size_t element_size) {
  size_t bytes;
  if (__builtin_expect(count < 0 || count == kSaturated || __builtin_mul_overflow(size_t(count), element_size, &bytes),
                       0))
    throw_workspace_bytes(count, element_size);
  return bytes;
}

// Element count of a workspace from its factors, or ERR_TOO_LARGE when the product overflows.
inline int64_t checked_elements(std::initializer_list<int64_t> factors) {
  const int64_t total = saturating_product(factors);
  if (__builtin_expect(total == kSaturated, 0)) throw_workspace_elements(factors);
  return total;
}

}  // namespace convkit
