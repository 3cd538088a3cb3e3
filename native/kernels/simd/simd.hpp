// Portable SIMD helpers of the direct kernels (pooling, small-channel and depthwise
// convolution): GCC vectors of the ISA's width, which each ISA unit lowers to its own registers,
// and the few operations where an intrinsic beats what the compiler makes of them.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "isa/config.hpp"

#if !defined(CONVKIT_ISA_GENERIC)
#include <immintrin.h>
#endif

namespace convkit {
namespace CONVKIT_ISA {

// Elements in one vector register.
template <class T>
constexpr int64_t kLanes = kVectorBytes / int64_t(sizeof(T));

// Calls fn(stride) with the common strides 1 and 2 as compile-time constants, so that the
// compiler vectorises the NCHW column loops with plain loads or shuffles instead of gathers.
template <class F>
void with_stride(int64_t stride, F&& fn) {
  if (stride == 1)
    fn(std::integral_constant<int64_t, 1>());
  else if (stride == 2)
    fn(std::integral_constant<int64_t, 2>());
  else
    fn(stride);
}

// W elements as one GCC vector: portable, and each ISA's translation unit lowers it to its own
// registers. Comparisons give a lane mask of the element's width, so indices ride in lanes of
// that width.
template <class T, int64_t W>
struct LanesOf {
  typedef T type __attribute__((vector_size(sizeof(T) * W)));
};
template <class T, int64_t W>
using Lanes = typename LanesOf<T, W>::type;
template <class T>
using LaneIndex = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;

template <class T, int64_t W>
Lanes<T, W> load_lanes(const T* p) {
  Lanes<T, W> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

#if defined(__clang__)
// clang has no __builtin_shuffle (the fuzz build, fuzz/README.md, uses clang): the same even
// lanes with a compile-time mask.
template <class T, int64_t W, size_t... K>
Lanes<T, W> even_lanes(Lanes<T, W> lo, Lanes<T, W> hi, std::index_sequence<K...>) {
  return __builtin_shufflevector(lo, hi, (2 * int64_t(K) < W ? 2 * int64_t(K) : 2 * int64_t(K) + 1)...);
}
#endif

// Lanes p[0], p[stride], ..., p[(W-1)*stride]. Stride 2 is two contiguous loads and a shuffle
// (the second load starts at p + W - 1 so nothing past p[2W-2] is read).
template <class T, int64_t W, class Stride>
Lanes<T, W> load_strided_lanes(const T* p, Stride stride) {
  if constexpr (std::is_same_v<Stride, std::integral_constant<int64_t, 1>>) {
    return load_lanes<T, W>(p);
  } else if constexpr (std::is_same_v<Stride, std::integral_constant<int64_t, 2>> && W > 1) {
#if defined(__clang__)
    return even_lanes<T, W>(load_lanes<T, W>(p), load_lanes<T, W>(p + W - 1), std::make_index_sequence<size_t(W)>());
#else
    using Mask = Lanes<LaneIndex<T>, W>;
    Mask even;
    for (int64_t k = 0; k < W; ++k) even[k] = LaneIndex<T>(2 * k < W ? 2 * k : 2 * k + 1);
    return __builtin_shuffle(load_lanes<T, W>(p), load_lanes<T, W>(p + W - 1), even);
#endif
  } else {
    Lanes<T, W> v;
    for (int64_t k = 0; k < W; ++k) v[k] = p[k * stride];
    return v;
  }
}

template <class T, int64_t W>
void store_lanes(T* p, const Lanes<T, W>& v) {
  std::memcpy(p, &v, sizeof v);
}

template <class T, int64_t W>
void store_indices(int32_t* p, const Lanes<LaneIndex<T>, W>& v) {
  const Lanes<int32_t, W> narrow = __builtin_convertvector(v, Lanes<int32_t, W>);
  std::memcpy(p, &narrow, sizeof narrow);
}

// Max with PyTorch's rule, lane by lane: take v where it is greater or NaN.
template <class T>
using Vec = Lanes<T, kLanes<T>>;

// Every lane x. The intrinsics give one broadcast; `Vec<T>{} + x` would cost an add (adding +0
// is not an identity for -0) and an element loop is sometimes compiled into permutes.
template <class T>
Vec<T> splat(T x) {
#if defined(CONVKIT_ISA_AVX512)
  if constexpr (std::is_same_v<T, float>) return _mm512_set1_ps(x);
  if constexpr (std::is_same_v<T, double>) return _mm512_set1_pd(x);
#elif defined(CONVKIT_ISA_AVX2)
  if constexpr (std::is_same_v<T, float>) return _mm256_set1_ps(x);
  if constexpr (std::is_same_v<T, double>) return _mm256_set1_pd(x);
#endif
  Vec<T> v;
  for (int64_t k = 0; k < kLanes<T>; ++k) v[k] = x;
  return v;
}

// The element type of a GCC vector.
template <class V>
using LaneType = std::remove_cv_t<std::remove_reference_t<decltype(std::declval<V>()[0])>>;

// a * b + c, fused where the translation unit is built with FMA (one rounding, like the GEMM).
template <class V>
V fmadd(V a, V b, V c) {
  using T [[maybe_unused]] = LaneType<V>;
  if constexpr (sizeof(V) == kVectorBytes) {
#if defined(CONVKIT_ISA_AVX512)
    if constexpr (std::is_same_v<T, float>) return _mm512_fmadd_ps(a, b, c);
    if constexpr (std::is_same_v<T, double>) return _mm512_fmadd_pd(a, b, c);
#elif defined(CONVKIT_ISA_AVX2)
    if constexpr (std::is_same_v<T, float>) return _mm256_fmadd_ps(a, b, c);
    if constexpr (std::is_same_v<T, double>) return _mm256_fmadd_pd(a, b, c);
#endif
  }
  return a * b + c;
}

// dest[0..n) = src[0..n) for short runs (a window row of a few channels): whole vectors, then
// one masked vector for the tail, where a memcpy call would cost more than the copy.
template <class T>
void copy_run(T* dest, const T* src, int64_t n) {
#if defined(CONVKIT_ISA_AVX512)
  constexpr int64_t L = 64 / int64_t(sizeof(T));
  int64_t t = 0;
  for (; t + L <= n; t += L) _mm512_storeu_si512(dest + t, _mm512_loadu_si512(src + t));
  if (t < n) {
    const __mmask64 bytes = (1ull << ((n - t) * int64_t(sizeof(T)))) - 1;  // under 64 bytes
    _mm512_mask_storeu_epi8(dest + t, bytes, _mm512_maskz_loadu_epi8(bytes, src + t));
  }
#else
  std::memcpy(dest, src, sizeof(T) * size_t(n));
#endif
}

// dest[j] = inside[j] ? src[index[j]] : 0 for j < n, where every index[j] is a valid offset into
// src (0 where inside[j] is 0): masked AVX-512 gathers where the ISA has them, so that narrow
// im2col rows (the tiny layers' strided windows) cost no branch per element.
template <class T>
void gather_row(T* dest, const T* src, const LaneIndex<T>* index, const LaneIndex<T>* inside, int64_t n) {
  int64_t j = 0;
#if defined(CONVKIT_ISA_AVX512)
  if constexpr (std::is_same_v<T, float>) {
    for (; j + 16 <= n; j += 16) {
      const __m512i at = _mm512_loadu_si512(index + j);
      const __mmask16 keep = _mm512_test_epi32_mask(_mm512_loadu_si512(inside + j), _mm512_set1_epi32(-1));
      _mm512_storeu_ps(dest + j, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), keep, at, src, 4));
    }
  } else {
    for (; j + 8 <= n; j += 8) {
      const __m512i at = _mm512_loadu_si512(index + j);
      const __mmask8 keep = _mm512_test_epi64_mask(_mm512_loadu_si512(inside + j), _mm512_set1_epi64(-1));
      _mm512_storeu_pd(dest + j, _mm512_mask_i64gather_pd(_mm512_setzero_pd(), keep, at, src, 8));
    }
  }
#endif
  for (; j < n; ++j) dest[j] = inside[j] ? src[index[j]] : T(0);
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
