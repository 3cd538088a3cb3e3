// Zero padding contributes nothing next to an infinite weight (issue 13, item 9): with +Inf at
// one tap of positive weights and positive inputs (or dY), forward and dx must be +Inf exactly
// where that tap meets real input and finite, equal to a reference that skips padded taps,
// everywhere else; the old kernels computed 0 * Inf = NaN for taps on the padding. dw likewise
// with +Inf in dY. Every conv path, both layouts, float and double, every ISA this CPU supports,
// 1 to 3 threads. Each table's plan (KernelOps::conv2d_plan) must choose the path a case is
// meant to cover.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../runtime/dispatch.hpp"
#include "../runtime/thread_pool.hpp"
#include "conv_reference.hpp"
#include "test_util.hpp"

using namespace convkit;
using namespace convkit::test;

namespace {

struct Case {
  int64_t n, c, h, w, cout, k, stride, pad_lo, pad_hi, dilation, groups;
  const char* forward;  // expected algorithm; for "gemm" the layout picks the NHWC band or NCHW
  const char* dx;       // expected algorithm; "dx_as_forward" is NHWC only (NCHW: col2im_nchw)
};

const std::vector<Case> kCases = {
    {2, 3, 7, 9, 6, 5, 1, 2, 2, 1, 1, "direct", "direct"},
    {1, 2, 9, 11, 4, 3, 2, 3, 3, 2, 1, "direct", "col2im"},
    {1, 2, 4, 40, 3, 3, 1, 1, 1, 1, 1, "direct", "direct"},           // several row chunks
    {1, 4, 6, 7, 6, 4, 1, 1, 2, 1, 1, "direct", "direct"},            // uneven padding
    {1, 2, 5, 6, 5, 3, 1, 3, 3, 1, 1, "direct", "direct"},            // padding beyond the reach
    {1, 5, 3, 4, 6, 1, 1, 1, 1, 1, 1, "direct", "direct"},            // 1x1 with padding
    {2, 40, 6, 13, 40, 3, 1, 1, 1, 1, 40, "depthwise", "depthwise"},  // register-blocked 3x3
    {1, 9, 8, 8, 9, 5, 1, 2, 2, 1, 9, "depthwise", "depthwise"},      // fixed 5x5
    {1, 4, 7, 7, 8, 3, 2, 1, 1, 1, 4, "depthwise", "depthwise"},      // multiplier 2
    {1, 1, 6, 6, 20, 3, 1, 1, 1, 1, 1, "depthwise", "direct"},
    {2, 4, 6, 7, 24, 3, 1, 1, 1, 1, 1, "gemm", "direct"},   // im2col gathered (ow < 16)
    {1, 3, 4, 20, 20, 3, 1, 1, 2, 1, 1, "gemm", "direct"},  // im2col by row runs
    {1, 6, 9, 10, 40, 3, 2, 2, 2, 2, 2, "gemm", "col2im"},
    {1, 5, 3, 4, 24, 1, 1, 1, 1, 1, 1, "gemm", "direct"},
    {1, 64, 4, 5, 24, 3, 1, 1, 1, 1, 1, "gemm", "dx_as_forward"},  // K over several k blocks
    {1, 3, 8, 9, 6, 3, 3, 2, 2, 1, 1, "gemm", "col2im"},           // stride 3: not direct
    {2, 20, 6, 7, 8, 3, 1, 1, 1, 1, 1, "direct", "dx_as_forward"},
    {1, 18, 7, 9, 8, 3, 1, 2, 2, 2, 1, "direct", "dx_as_forward"},
    {1, 20, 7, 8, 8, 3, 2, 1, 1, 1, 1, "direct", "col2im"},
    {1, 20, 4, 5, 8, 3, 1, 3, 3, 1, 1, "direct", "col2im"},  // padding beyond the reach
};

std::string expected_path(const char* name, Layout layout) {
  const std::string p = name;
  const bool nhwc = layout == Layout::NHWC;
  if (p == "gemm") return nhwc ? "gemm_nhwc_band" : "gemm_nchw";
  if (p == "col2im") return nhwc ? "col2im_nhwc" : "col2im_nchw";
  if (p == "dx_as_forward" && !nhwc) return "col2im_nchw";
  return p;
}

ConvShape shape_of(const Case& t, Layout layout) {
  ConvShape s;
  s.layout = layout;
  s.n = t.n, s.c = t.c, s.h = t.h, s.w = t.w, s.cout = t.cout, s.kh = s.kw = t.k, s.groups = t.groups;
  s.stride_h = s.stride_w = t.stride, s.dilation_h = s.dilation_w = t.dilation;
  s.pad_top = s.pad_left = t.pad_lo, s.pad_bottom = s.pad_right = t.pad_hi;
  const int64_t span = (t.k - 1) * t.dilation + 1;
  s.oh = (s.h + t.pad_lo + t.pad_hi - span) / t.stride + 1;
  s.ow = (s.w + t.pad_lo + t.pad_hi - span) / t.stride + 1;
  return s;
}

int64_t y_index(const ConvShape& s, int64_t n, int64_t c, int64_t h, int64_t w) {
  return test::Indexer{s}.y(n, c, h, w);
}
int64_t w_index(const ConvShape& s, int64_t o, int64_t i, int64_t kh, int64_t kw) {
  return test::Indexer{s}.w(o, i, kh, kw);
}

// y, dx and dw in double, taps outside the input skipped (never multiplied).
void reference(const ConvShape& s, const std::vector<double>& x, const std::vector<double>& w,
               const std::vector<double>& b, const std::vector<double>& dy, std::vector<double>& y,
               std::vector<double>& dx, std::vector<double>& dw) {
  test::Reference r = test::reference(s, x, w, b, dy);
  y = std::move(r.y);
  dx = std::move(r.dx);
  dw = std::move(r.dw);
}

// The reference's infinities: a comparison that meets none says nothing about them.
int64_t count_infinite(const std::vector<double>& v) {
  int64_t count = 0;
  for (double e : v) count += std::isinf(e);
  return count;
}

template <class T>
void check_padding(const KernelOps<T>& ops, const ConvShape& s, Runner& runner, const std::string& label,
                   std::mt19937& rng) {
  const double rel = sizeof(T) == 4 ? 2e-5 : 1e-12;
  std::uniform_real_distribution<double> dist(0.5, 1.5);
  auto positive = [&](int64_t count) {
    std::vector<double> v(static_cast<size_t>(count));
    for (auto& e : v) e = double(T(dist(rng)));
    return v;
  };
  const auto x = positive(s.x_size()), b = positive(s.cout), dy = positive(s.y_size());
  const int64_t cg = s.cin_per_group();
  // The first tap of the first filter (top/left padding), the last tap of the last (bottom/right).
  const int64_t inf_taps[2][4] = {{0, 0, 0, 0}, {s.cout - 1, cg - 1, s.kh - 1, s.kw - 1}};
  for (const auto& tap : inf_taps) {
    auto w = positive(s.w_size());
    w[size_t(w_index(s, tap[0], tap[1], tap[2], tap[3]))] = INFINITY;
    std::vector<double> want_y, want_dx, want_dw;
    reference(s, x, w, b, dy, want_y, want_dx, want_dw);
    const std::vector<T> xt(x.begin(), x.end()), wt(w.begin(), w.end()), bt(b.begin(), b.end());
    const std::vector<T> dyt(dy.begin(), dy.end());
    std::vector<T> y(size_t(s.y_size()), T(7)), dx(size_t(s.x_size()), T(7));
    const std::string where = label + (tap[0] == 0 ? " first tap" : " last tap");
    ops.conv2d_forward(ops.conv2d_plan(s, ConvPass::kForward, runner.num_threads()), xt.data(), wt.data(), nullptr,
                       bt.data(), y.data(), runner);
    compare(where + " forward", y, want_y, rel);
    // Outputs of the Inf filter that stay finite are those where its Inf tap is on the padding.
    int64_t padded = 0;
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t oh = 0; oh < s.oh; ++oh)
        for (int64_t ow = 0; ow < s.ow; ++ow) padded += std::isfinite(want_y[size_t(y_index(s, n, tap[0], oh, ow))]);
    check(count_infinite(want_y) > 0 && padded > 0, where + " forward: the Inf tap meets both input and padding");
    ops.conv2d_backward_input(ops.conv2d_plan(s, ConvPass::kBackwardInput, runner.num_threads()), dyt.data(), wt.data(),
                              dx.data(), runner);
    compare(where + " backward input", dx, want_dx, rel);
    check(count_infinite(want_dx) > 0, where + " backward input: the Inf tap meets dY somewhere");
  }
  // dw with finite weights but +Inf in dY at a corner pixel, whose window reaches into x's padding
  // (every case pads): the Inf must meet only the input under that window.
  const int64_t corners[2][4] = {{0, 0, 0, 0}, {s.n - 1, s.cout - 1, s.oh - 1, s.ow - 1}};
  for (const auto& corner : corners) {
    auto dy_inf = dy;
    dy_inf[size_t(y_index(s, corner[0], corner[1], corner[2], corner[3]))] = INFINITY;
    std::vector<double> want_y, want_dx, want_dw;
    reference(s, x, positive(s.w_size()), b, dy_inf, want_y, want_dx, want_dw);
    const std::vector<T> xt(x.begin(), x.end()), dyt(dy_inf.begin(), dy_inf.end());
    std::vector<T> dw(size_t(s.w_size()), T(7)), db(size_t(s.cout), T(7));
    ops.conv2d_backward_filter(ops.conv2d_plan(s, ConvPass::kBackwardFilter, runner.num_threads()), dyt.data(),
                               xt.data(), dw.data(), db.data(), runner);
    compare(label + (corner[0] == 0 ? " first" : " last") + " pixel Inf: backward filter", dw, want_dw, rel);
  }
}

std::string describe(const ConvShape& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s c%lld->%lld %lldx%lld k%lld s%lld p%lld,%lld d%lld g%lld",
                s.layout == Layout::NHWC ? "NHWC" : "NCHW", (long long)s.c, (long long)s.cout, (long long)s.h,
                (long long)s.w, (long long)s.kh, (long long)s.stride_h, (long long)s.pad_top, (long long)s.pad_bottom,
                (long long)s.dilation_h, (long long)s.groups);
  return buf;
}

}  // namespace

int main() {
  std::mt19937 rng(913);
  ThreadPool pool2(2), pool3(3);
  SerialRunner serial;
  Runner* runners[] = {&serial, &pool2, &pool3};
  const std::vector<Case> cases = spread_subset(kCases);
  for (const std::string& isa : isas_under_test(supported_isas())) {
    const KernelTable* table = kernel_table_named(isa);
    for (const Case& t : kCases)
      for (Layout layout : {Layout::NHWC, Layout::NCHW}) {
        const ConvShape s = shape_of(t, layout);
        validate(s);
        const std::string forward = expected_path(t.forward, layout), dx = expected_path(t.dx, layout);
        for (int threads : {1, 3}) {
          const std::string got_forward =
              conv_algorithm_name(table->f32.conv2d_plan(s, ConvPass::kForward, threads).algorithm);
          const std::string got_dx =
              conv_algorithm_name(table->f64.conv2d_plan(s, ConvPass::kBackwardInput, threads).algorithm);
          check(got_forward == forward,
                isa + " " + describe(s) + " forward takes " + got_forward + ", meant to cover " + forward);
          check(got_dx == dx, isa + " " + describe(s) + " dx takes " + got_dx + ", meant to cover " + dx);
        }
      }
    end_group(isa + ": the path each case is meant to cover");
    size_t i = 0;
    for (const Case& t : cases)
      for (Layout layout : {Layout::NHWC, Layout::NCHW}) {
        const ConvShape s = shape_of(t, layout);
        Runner& runner = *runners[i++ % 3];
        const std::string label = isa + " " + describe(s) + " threads " + std::to_string(runner.num_threads());
        check_padding(table->f32, s, runner, label + " f32", rng);
        check_padding(table->f64, s, runner, label + " f64", rng);
      }
    end_group(isa + ": " + std::to_string(i) + " cases");
  }
  return finish("test_conv_padding");
}
