// AVX2 + FMA: 6 rows x 2 ymm of C in 12 registers, 2 for the B row and 1 broadcast (15 of 16).
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

#include "ukernel_vector.inl"

template <class T>
struct Ukernel;
template <>
struct Ukernel<float> : VectorUkernel<Ymm32, 6> {};
template <>
struct Ukernel<double> : VectorUkernel<Ymm64, 6> {};
