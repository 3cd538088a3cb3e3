// The convolution reference shared by the native tests: direct loops over every in-bounds term,
// in double, for both layouts.
#pragma once

#include <cstdint>
#include <vector>

#include "../kernels/common.hpp"

namespace convkit {
namespace test {

// Logical accessors independent of layout.
struct Indexer {
  const ConvShape& s;
  int64_t x(int64_t n, int64_t c, int64_t h, int64_t w) const {
    return s.layout == Layout::NHWC ? ((n * s.h + h) * s.w + w) * s.c + c : ((n * s.c + c) * s.h + h) * s.w + w;
  }
  int64_t y(int64_t n, int64_t c, int64_t h, int64_t w) const {
    return s.layout == Layout::NHWC ? ((n * s.oh + h) * s.ow + w) * s.cout + c
                                    : ((n * s.cout + c) * s.oh + h) * s.ow + w;
  }
  // o: output channel, i: input channel within the group.
  int64_t w(int64_t o, int64_t i, int64_t kh, int64_t kw) const {
    const int64_t cg = s.cin_per_group();
    return s.layout == Layout::NHWC ? ((kh * s.kw + kw) * cg + i) * s.cout + o : ((o * cg + i) * s.kh + kh) * s.kw + kw;
  }
};

// Calls f(n, o, oh, ow, c, ih, iw, kh, kw, i) for every in-bounds term of the convolution sum.
template <class F>
void for_each_term(const ConvShape& s, F f) {
  const int64_t cg = s.cin_per_group(), coutg = s.cout_per_group();
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t o = 0; o < s.cout; ++o)
      for (int64_t oh = 0; oh < s.oh; ++oh)
        for (int64_t ow = 0; ow < s.ow; ++ow)
          for (int64_t i = 0; i < cg; ++i)
            for (int64_t kh = 0; kh < s.kh; ++kh)
              for (int64_t kw = 0; kw < s.kw; ++kw) {
                const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
                const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
                if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
                f(n, o, oh, ow, o / coutg * cg + i, ih, iw, kh, kw, i);
              }
}

struct Reference {
  std::vector<double> y, dx, dw, db;
};

inline Reference reference(const ConvShape& s, const std::vector<double>& x, const std::vector<double>& w,
                           const std::vector<double>& b, const std::vector<double>& dy) {
  Indexer ix{s};
  Reference r;
  r.y.assign(s.y_size(), 0.0);
  r.dx.assign(s.x_size(), 0.0);
  r.dw.assign(s.w_size(), 0.0);
  r.db.assign(s.cout, 0.0);
  for_each_term(s, [&](int64_t n, int64_t o, int64_t oh, int64_t ow, int64_t c, int64_t ih, int64_t iw, int64_t kh,
                       int64_t kw, int64_t i) {
    const int64_t yi = ix.y(n, o, oh, ow), xi = ix.x(n, c, ih, iw), wi = ix.w(o, i, kh, kw);
    r.y[yi] += x[xi] * w[wi];
    r.dx[xi] += dy[yi] * w[wi];
    r.dw[wi] += dy[yi] * x[xi];
  });
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t o = 0; o < s.cout; ++o)
      for (int64_t oh = 0; oh < s.oh; ++oh)
        for (int64_t ow = 0; ow < s.ow; ++ow) {
          r.y[ix.y(n, o, oh, ow)] += b[o];
          r.db[o] += dy[ix.y(n, o, oh, ow)];
        }
  return r;
}

}  // namespace test
}  // namespace convkit
