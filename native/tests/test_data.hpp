// Test data shared by the pooling and padding tests: layout-aware indexing, seeded random
// values (every one exactly a float32, so both dtypes see the same inputs) and the runners each
// case is checked on.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "../kernels/common.hpp"
#include "../runtime/thread_pool.hpp"

namespace convkit {
namespace test {

// Offset of element (n, c, h, w) of an N x C x H x W tensor in `layout`.
inline int64_t offset(Layout layout, int64_t C, int64_t H, int64_t W, int64_t n, int64_t c, int64_t h, int64_t w) {
  return layout == Layout::NCHW ? ((n * C + c) * H + h) * W + w : ((n * H + h) * W + w) * C + c;
}

enum class Values { Uniform, SmallIntegers, AllNegative, WithNaN };

// One seeded generator per program, so that a failing case can be reproduced.
inline std::mt19937_64& rng() {
  static std::mt19937_64 generator(20240611);
  return generator;
}

inline int64_t pick(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng()); }

inline std::vector<double> random_values(int64_t count, Values kind) {
  std::vector<double> v(static_cast<size_t>(count));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (auto& e : v) {
    switch (kind) {
      case Values::Uniform:
        e = uniform(rng());
        break;
      case Values::SmallIntegers:
        e = double(pick(0, 3));
        break;
      case Values::AllNegative:
        e = double(uniform(rng()) - 2.0f);
        break;
      case Values::WithNaN:
        e = pick(0, 9) == 0 ? std::nan("") : double(uniform(rng()));
        break;
    }
  }
  return v;
}

template <class T>
std::vector<T> convert(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// The runners every case is checked on: inline, a pool of one thread and one of three.
struct Runners {
  SerialRunner serial;
  ThreadPool one{1};
  ThreadPool three{3};
  std::vector<std::pair<const char*, Runner*>> all() {
    return {{"serial", &serial}, {"pool1", &one}, {"pool3", &three}};
  }
};

}  // namespace test
}  // namespace convkit
