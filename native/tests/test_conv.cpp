// Convolution kernels of every ISA this CPU supports against a direct-loop reference, on random
// shapes crossing the GEMM tile edges, both layouts, float and double, 1 to 3 threads.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "../kernels/kernels.hpp"
#include "../runtime/dispatch.hpp"
#include "../runtime/thread_pool.hpp"
#include "conv_reference.hpp"
#include "test_util.hpp"

using namespace convkit;
using namespace convkit::test;

namespace {

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <class T>
void check_conv(const KernelOps<T>& ops, const ConvShape& s, Runner& runner, const std::string& label,
                std::mt19937& rng) {
  std::uniform_real_distribution<double> dist(-1, 1);
  auto random = [&](int64_t count) {
    std::vector<double> v(count);
    // Round through T so that the reference sees exactly the values the kernel sees.
    for (auto& e : v) e = double(T(dist(rng)));
    return v;
  };
  const auto x = random(s.x_size()), w = random(s.w_size()), b = random(s.cout), dy = random(s.y_size());
  const Reference ref = reference(s, x, w, b, dy);
  const double rel = sizeof(T) == 4 ? 2e-5 : 1e-12;

  auto xt = cast<T>(x), wt = cast<T>(w), bt = cast<T>(b), dyt = cast<T>(dy);
  std::vector<T> y(s.y_size(), T(7)), dx(s.x_size(), T(7)), dw(s.w_size(), T(7)), db(s.cout, T(7));
  ops.conv2d_forward(ops.conv2d_plan(s, ConvPass::kForward, runner.num_threads()), xt.data(), wt.data(), nullptr,
                     bt.data(), y.data(), runner);
  compare(label + " forward", y, ref.y, rel);
  ops.conv2d_backward_input(ops.conv2d_plan(s, ConvPass::kBackwardInput, runner.num_threads()), dyt.data(), wt.data(),
                            dx.data(), runner);
  compare(label + " backward input", dx, ref.dx, rel);
  ops.conv2d_backward_filter(ops.conv2d_plan(s, ConvPass::kBackwardFilter, runner.num_threads()), dyt.data(), xt.data(),
                             dw.data(), db.data(), runner);
  compare(label + " backward filter", dw, ref.dw, rel);
  compare(label + " backward bias", db, ref.db, rel);

  // Without bias: forward is the biased result minus b.
  std::vector<double> unbiased = ref.y;
  Indexer ix{s};
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t o = 0; o < s.cout; ++o)
      for (int64_t oh = 0; oh < s.oh; ++oh)
        for (int64_t ow = 0; ow < s.ow; ++ow) unbiased[ix.y(n, o, oh, ow)] -= b[o];
  ops.conv2d_forward(ops.conv2d_plan(s, ConvPass::kForward, runner.num_threads()), xt.data(), wt.data(), nullptr,
                     nullptr, y.data(), runner);
  compare(label + " forward without bias", y, unbiased, rel);

  // Weights packed ahead (for another batch size, image size and stride: the packing must not
  // depend on them) give the same bits as packing inside the call.
  ConvShape other = s;
  other.n = s.n + 1, other.h = s.h + 3, other.w = s.w + 2, other.stride_h = other.stride_w = 1;
  other.oh = other.h + other.pad_top + other.pad_bottom - (other.kh - 1) * other.dilation_h;
  other.ow = other.w + other.pad_left + other.pad_right - (other.kw - 1) * other.dilation_w;
  const int64_t packed_size = ops.conv2d_packed_weights_size(s);
  check(ops.conv2d_packed_weights_size(other) == packed_size,
        label + " packed size does not depend on the input shape");
  if (packed_size > 0) {
    std::vector<T> packed(size_t(packed_size), T(7)), y_packed(s.y_size(), T(7));
    ops.conv2d_pack_weights(other, wt.data(), packed.data(), runner);
    ops.conv2d_forward(ops.conv2d_plan(s, ConvPass::kForward, runner.num_threads()), xt.data(), wt.data(), nullptr,
                       bt.data(), y.data(), runner);
    ops.conv2d_forward(ops.conv2d_plan(s, ConvPass::kForward, runner.num_threads()), xt.data(), wt.data(),
                       packed.data(), bt.data(), y_packed.data(), runner);
    check(y_packed == y, label + " forward with packed weights equals packing in the call");
  }
}

int64_t out_size(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t k, int64_t d, int64_t stride) {
  const int64_t span = d * (k - 1) + 1;
  return in + pad_lo + pad_hi < span ? 0 : (in + pad_lo + pad_hi - span) / stride + 1;
}

std::vector<ConvShape> shapes(std::mt19937& rng) {
  std::vector<ConvShape> out;
  auto pick = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  // Fixed cases: pointwise, depthwise, large channel counts crossing the KC/MC/NC blocks.
  struct Fixed {
    int64_t n, c, h, w, cout, k, stride, pad, groups, dilation;
  };
  const Fixed fixed[] = {{2, 16, 9, 7, 40, 1, 1, 0, 1, 1},
                         {1, 8, 12, 13, 8, 3, 1, 1, 8, 1},
                         {1, 300, 5, 6, 33, 1, 1, 0, 1, 1},
                         {2, 40, 10, 9, 70, 3, 1, 1, 1, 1},
                         {1, 3, 30, 31, 17, 7, 2, 3, 1, 1},
                         {3, 6, 11, 8, 12, 3, 2, 2, 3, 2},
                         {1, 70, 6, 6, 200, 3, 1, 1, 1, 1},
                         {2, 4, 5, 5, 6, 5, 1, 2, 2, 1},
                         {2, 6, 9, 10, 12, 3, 2, 1, 6, 2},
                         {1, 4, 7, 7, 12, 5, 1, 2, 4, 1},
                         {2, 40, 6, 5, 40, 3, 1, 1, 40, 1},
                         {1, 5, 6, 40, 9, 3, 1, 1, 1, 1},
                         {2, 3, 7, 50, 4, 3, 2, 2, 1, 2},
                         {2, 1, 12, 12, 6, 5, 1, 2, 1, 1},
                         {1, 2, 3, 40, 2, 33, 1, 16, 2, 1},
                         // The NHWC GEMM forward's input bands: groups, dilation and stride with
                         // output rows of 15 pixels (panels straddling rows), 5 and 33.
                         {2, 10, 9, 31, 40, 3, 2, 2, 2, 2},
                         {3, 6, 20, 9, 36, 2, 2, 1, 2, 1},
                         {1, 5, 4, 33, 17, 1, 1, 0, 1, 1},
                         {2, 8, 7, 16, 34, 4, 1, 3, 1, 1},
                         // NHWC dW with channels per group a multiple of the B panel width: the
                         // im2col is written straight into the panels (K = 576 spans two NC blocks).
                         {2, 64, 7, 9, 40, 3, 2, 1, 1, 2},
                         {1, 64, 6, 7, 48, 3, 1, 2, 2, 1},
                         // Depthwise with enough channels for the register-blocked NHWC kernels'
                         // 4-vector, 1-vector and scalar channel blocks; padding beyond the
                         // kernel's reach gives dx a negative padding.
                         {2, 83, 9, 11, 83, 3, 1, 1, 83, 1},
                         {1, 83, 8, 9, 83, 3, 2, 1, 83, 2},
                         {1, 83, 6, 7, 83, 3, 1, 3, 83, 1},
                         {1, 83, 7, 12, 83, 5, 1, 2, 83, 2}};
  for (const auto& f : fixed) {
    ConvShape s;
    s.n = f.n, s.c = f.c, s.h = f.h, s.w = f.w, s.cout = f.cout, s.kh = s.kw = f.k, s.groups = f.groups;
    s.stride_h = s.stride_w = f.stride;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = f.pad;
    s.dilation_h = s.dilation_w = f.dilation;
    out.push_back(s);
  }
  while (out.size() < 40) {
    ConvShape s;
    s.groups = pick(1, 3);
    s.c = s.groups * pick(1, 5);
    s.cout = s.groups * pick(1, 24);  // above 16 per group: the GEMM paths
    s.n = pick(1, 3), s.h = pick(1, 12), s.w = pick(1, 12), s.kh = pick(1, 4), s.kw = pick(1, 4);
    s.stride_h = pick(1, 3), s.stride_w = pick(1, 3), s.dilation_h = pick(1, 2), s.dilation_w = pick(1, 2);
    s.pad_top = pick(0, 3), s.pad_left = pick(0, 3), s.pad_bottom = pick(0, 3), s.pad_right = pick(0, 3);
    out.push_back(s);
  }
  std::vector<ConvShape> valid;
  for (auto s : out) {
    s.oh = out_size(s.h, s.pad_top, s.pad_bottom, s.kh, s.dilation_h, s.stride_h);
    s.ow = out_size(s.w, s.pad_left, s.pad_right, s.kw, s.dilation_w, s.stride_w);
    if (s.oh < 1 || s.ow < 1) continue;
    valid.push_back(s);
  }
  return valid;
}

std::string describe(const ConvShape& s) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%s n%lld c%lld %lldx%lld -> %lld k%lldx%lld s%lldx%lld p%lld,%lld,%lld,%lld d%lldx%lld g%lld",
                s.layout == Layout::NHWC ? "NHWC" : "NCHW", (long long)s.n, (long long)s.c, (long long)s.h,
                (long long)s.w, (long long)s.cout, (long long)s.kh, (long long)s.kw, (long long)s.stride_h,
                (long long)s.stride_w, (long long)s.pad_top, (long long)s.pad_left, (long long)s.pad_bottom,
                (long long)s.pad_right, (long long)s.dilation_h, (long long)s.dilation_w, (long long)s.groups);
  return buf;
}

void expect_error(const char* what, const char* code, ConvShape s) {
  try {
    validate(s);
    check(false, std::string(what) + ": validate accepted it");
  } catch (const Error& e) {
    check(std::string(e.code()) == code,
          std::string(what) + ": code " + e.code() + ", want " + code + " (" + e.what() + ")");
  }
}

void validation_checks() {
  ConvShape good;
  good.n = 1, good.c = 4, good.h = 5, good.w = 5, good.cout = 6, good.kh = good.kw = 3, good.oh = good.ow = 3;
  validate(good);
  ConvShape s = good;
  s.groups = 3;
  expect_error("groups not dividing channels", "ERR_SHAPE", s);
  s = good, s.oh = 4;
  expect_error("wrong output size", "ERR_SHAPE", s);
  s = good, s.kh = 7, s.oh = 0;
  expect_error("kernel larger than input", "ERR_SHAPE", s);
  s = good, s.n = 0;
  expect_error("zero batch", "ERR_SHAPE", s);
  s = good, s.n = int64_t(1) << 40, s.c = int64_t(1) << 20;
  expect_error("overflowing sizes", "ERR_TOO_LARGE", s);
  s = good, s.pad_top = -1;
  expect_error("negative padding", "ERR_ARG", s);
}

// The strided GEMM entry against a triple loop: plain, transposed A and B, bias, accumulate.
template <class T>
void gemm_checks(const KernelOps<T>& ops, Runner& runner, const std::string& label, std::mt19937& rng) {
  std::uniform_real_distribution<double> dist(-1, 1);
  const int64_t sizes[][3] = {{1, 1, 1}, {64, 120, 400}, {13, 33, 7}, {200, 70, 300}, {5, 600, 3}};
  for (const auto& size : sizes)
    for (int variant = 0; variant < 4; ++variant) {
      GemmShape g;
      g.m = size[0], g.n = size[1], g.k = size[2];
      const bool a_transposed = variant & 1, b_transposed = variant & 2;
      g.a_row_stride = a_transposed ? 1 : g.k, g.a_col_stride = a_transposed ? g.m : 1;
      g.b_row_stride = b_transposed ? 1 : g.n, g.b_col_stride = b_transposed ? g.k : 1;
      g.accumulate = variant == 3;
      validate(g);
      std::vector<T> a(g.m * g.k), b(g.k * g.n), bias(g.n), c(g.m * g.n);
      for (auto* v : {&a, &b, &bias, &c})
        for (auto& e : *v) e = T(dist(rng));
      std::vector<double> want(c.size());
      for (int64_t i = 0; i < g.m; ++i)
        for (int64_t j = 0; j < g.n; ++j) {
          double sum = g.accumulate ? double(c[i * g.n + j]) : double(bias[j]);
          for (int64_t k = 0; k < g.k; ++k)
            sum +=
                double(a[i * g.a_row_stride + k * g.a_col_stride]) * double(b[k * g.b_row_stride + j * g.b_col_stride]);
          want[i * g.n + j] = sum;
        }
      ops.gemm(g, a.data(), b.data(), g.accumulate ? nullptr : bias.data(), c.data(), runner);
      compare(label + " gemm " + std::to_string(g.m) + "x" + std::to_string(g.n) + "x" + std::to_string(g.k) +
                  " variant " + std::to_string(variant),
              c, want, sizeof(T) == 4 ? 2e-5 : 1e-12);
    }
}

// Every task runs exactly once, also after the pool grew or shrank between jobs (new workers
// must not replay the previous job).
void thread_pool_checks() {
  ThreadPool pool(2);
  for (int threads : {2, 3, 1, 4, 2}) {
    pool.set_num_threads(threads);
    std::vector<int> runs(97, 0);
    parallel_for(pool, int64_t(runs.size()), [&](int64_t task, int) { ++runs[task]; });
    bool once = true;
    for (int count : runs) once = once && count == 1;
    check(once, "thread pool with " + std::to_string(threads) + " threads ran every task once");
  }
  try {
    parallel_for(pool, 8, [&](int64_t task, int) {
      if (task == 5) throw Error(ErrorCode::ERR_ARG, "task failure");
    });
    check(false, "thread pool swallowed a task's exception");
  } catch (const Error& e) {
    check(std::string(e.code()) == "ERR_ARG", std::string("thread pool passed on a task's exception as ") + e.code());
  }
}

}  // namespace

int main() {
  validation_checks();
  thread_pool_checks();
  end_group("shape validation and thread pool");
  std::mt19937 rng(1234);
  const auto cases = spread_subset(shapes(rng));
  ThreadPool pool3(3), pool2(2);
  SerialRunner serial;
  Runner* runners[] = {&serial, &pool2, &pool3};
  for (const std::string& isa : isas_under_test(supported_isas())) {
    const KernelTable* table = kernel_table_named(isa);
    for (size_t i = 0; i < cases.size(); ++i)
      for (Layout layout : {Layout::NHWC, Layout::NCHW}) {
        ConvShape s = cases[i];
        s.layout = layout;
        validate(s);
        Runner& runner = *runners[i % 3];
        const std::string label = isa + " " + describe(s) + " threads " + std::to_string(runner.num_threads());
        check_conv(table->f32, s, runner, label + " f32", rng);
        check_conv(table->f64, s, runner, label + " f64", rng);
      }
    gemm_checks(table->f32, pool3, isa + " f32", rng);
    gemm_checks(table->f64, pool2, isa + " f64", rng);
    end_group(isa + ": " + std::to_string(cases.size()) + " shapes x 2 layouts x 2 dtypes, and the GEMM");
  }
  return finish("test_conv");
}
