// Element-wise work of the nn layers and optimisers: cheap per element, so it is memory bound
// and only split across threads for large tensors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common.hpp"
#include "isa/config.hpp"
#include "parallel.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// Runs fn(begin, end) over [0, n) in chunks, on several threads once n is large.
template <class F>
void for_element_chunks(int64_t n, Runner& runner, F&& fn) {
  constexpr int64_t kChunk = kElementwiseChunk;
  with_sized_runner(runner, double(n), [&](Runner& r) {
    parallel_for(r, (n + kChunk - 1) / kChunk,
                 [&](int64_t task, int) { fn(task * kChunk, std::min(n, (task + 1) * kChunk)); });
  });
}

template <class T>
void relu(const T* x, T* y, int64_t n, Runner& r) {
  for_element_chunks(n, r, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T v = x[i];
      y[i] = v > T(0) || v != v ? v : T(0);
    }
  });
}

template <class T>
void relu_backward(const T* y, const T* dy, T* dx, int64_t n, Runner& r) {
  for_element_chunks(n, r, [&](int64_t begin, int64_t end) {
    // Both loads unconditional, so the select vectorises instead of branching on the sign.
    for (int64_t i = begin; i < end; ++i) {
      const T g = dy[i];
      dx[i] = y[i] > T(0) ? g : T(0);
    }
  });
}

template <class T>
void adam(const AdamStep& a, T* p, const T* g, T* m, T* v, int64_t n, Runner& r) {
  for_element_chunks(n, r, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double gi = double(g[i]) + a.weight_decay * double(p[i]);
      const double mi = a.beta1 * double(m[i]) + (1 - a.beta1) * gi;
      const double vi = a.beta2 * double(v[i]) + (1 - a.beta2) * gi * gi;
      m[i] = T(mi);
      v[i] = T(vi);
      p[i] = T(double(p[i]) - (a.step_size * mi) / (std::sqrt(vi) / a.root_correction + a.eps));
    }
  });
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
