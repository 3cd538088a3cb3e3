// AVX-512 micro-kernel: kGemmRows rows x 2 zmm of C. Interface: see ukernel/ukernel.hpp.
#pragma once

#include <immintrin.h>

#include "isa/config.hpp"
#include "ukernel/vector.hpp"

namespace convkit {
namespace avx512 {

struct Zmm32 {
  using T = float;
  using Vec = __m512;
  static constexpr int L = 16;
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, Vec v) { _mm512_storeu_ps(p, v); }
  static Vec set1(T x) { return _mm512_set1_ps(x); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
};

struct Zmm64 {
  using T = double;
  using Vec = __m512d;
  static constexpr int L = 8;
  static Vec zero() { return _mm512_setzero_pd(); }
  static Vec load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, Vec v) { _mm512_storeu_pd(p, v); }
  static Vec set1(T x) { return _mm512_set1_pd(x); }
  static Vec add(Vec a, Vec b) { return _mm512_add_pd(a, b); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_pd(a, b, c); }
};

template <class T>
struct Ukernel;
template <>
struct Ukernel<float> : VectorUkernel<Zmm32, kGemmRows> {};
template <>
struct Ukernel<double> : VectorUkernel<Zmm64, kGemmRows> {};

}  // namespace avx512
}  // namespace convkit
