// AVX2 + FMA micro-kernel: kGemmRows rows x 2 ymm of C. Interface: see ukernel/ukernel.hpp.
#pragma once

#include <immintrin.h>

#include "isa/config.hpp"
#include "ukernel/vector.hpp"

namespace convkit {
namespace avx2 {

struct Ymm32 {
  using T = float;
  using Vec = __m256;
  static constexpr int L = 8;
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, Vec v) { _mm256_storeu_ps(p, v); }
  static Vec set1(T x) { return _mm256_set1_ps(x); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
};

struct Ymm64 {
  using T = double;
  using Vec = __m256d;
  static constexpr int L = 4;
  static Vec zero() { return _mm256_setzero_pd(); }
  static Vec load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, Vec v) { _mm256_storeu_pd(p, v); }
  static Vec set1(T x) { return _mm256_set1_pd(x); }
  static Vec add(Vec a, Vec b) { return _mm256_add_pd(a, b); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_pd(a, b, c); }
};

template <class T>
struct Ukernel;
template <>
struct Ukernel<float> : VectorUkernel<Ymm32, kGemmRows> {};
template <>
struct Ukernel<double> : VectorUkernel<Ymm64, kGemmRows> {};

}  // namespace avx2
}  // namespace convkit
