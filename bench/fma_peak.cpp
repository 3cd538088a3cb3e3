// The machine's FMA peak as this VM delivers it: a register-only loop of independent AVX-512
// FMAs (no memory operands), on 1..T threads at once. The "% of peak" columns of bench/run.js
// take these figures through --peak-f32 / --peak-f64.
//
//   g++ -O2 -mavx512f -pthread bench/fma_peak.cpp -o /tmp/fma_peak && /tmp/fma_peak [threads]
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <thread>
#include <vector>

namespace {

// 16 independent accumulators: more than latency x throughput (4 x 2) needs.
template <class V, V (*Fma)(V, V, V), V (*Set1)(double)>
double run_fma(long iterations) {
  V acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = Set1(1.0 + i * 1e-7);
  const V a = Set1(0.999999), b = Set1(1e-9);
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) acc[i] = Fma(acc[i], a, b);
  }
  double sink = 0;
  alignas(64) double lanes[8];
  for (int i = 0; i < 16; ++i) {
    std::memcpy(lanes, &acc[i], sizeof(lanes));
    sink += lanes[0];
  }
  return sink;
}

__m512 fma_ps(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
__m512 set1_ps(double v) { return _mm512_set1_ps(float(v)); }
__m512d fma_pd(__m512d a, __m512d b, __m512d c) { return _mm512_fmadd_pd(a, b, c); }
__m512d set1_pd(double v) { return _mm512_set1_pd(v); }

// GFLOP/s of `threads` threads together, each running the loop `iterations` times.
template <class V, V (*Fma)(V, V, V), V (*Set1)(double)>
double measure(int threads, long iterations, int lanes) {
  std::vector<std::thread> pool;
  std::vector<double> sinks(threads);
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { sinks[t] = run_fma<V, Fma, Set1>(iterations); });
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (sinks[0] == 12345.0) std::puts("");  // keeps the results live
  return 2.0 * lanes * 16 * double(iterations) * threads / seconds / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const int max_threads = argc > 1 ? std::atoi(argv[1]) : int(std::thread::hardware_concurrency());
  const long iterations = 400'000'000;
  for (int threads = 1; threads <= max_threads; ++threads) {
    double f32 = 0, f64 = 0;
    for (int round = 0; round < 3; ++round) {  // best of 3: the VM's clock and neighbours vary
      f32 = std::max(f32, measure<__m512, fma_ps, set1_ps>(threads, iterations, 16));
      f64 = std::max(f64, measure<__m512d, fma_pd, set1_pd>(threads, iterations, 8));
    }
    std::printf("threads %d: fp32 %.1f GFLOP/s, fp64 %.1f GFLOP/s\n", threads, f32, f64);
  }
  return 0;
}
