// One case per conv algorithm: the plan of every kernel table this CPU runs must choose the
// algorithm the case is meant to cover (ConvPlan::algorithm), and executing that plan must give
// the reference's numbers, in float and double, on 1 and 2 threads; the scratch the call asks
// for must be what the plan reports (ConvPlan::workspace_bytes). Then plans that a table
// cannot run (another table's or element type's, another pass's, an algorithm the shape does not
// allow, another thread count) must throw ERR_INTERNAL rather than compute anything.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "../runtime/dispatch.hpp"
#include "../runtime/thread_pool.hpp"
#include "conv_reference.hpp"
#include "test_util.hpp"

using namespace convkit;
using namespace convkit::test;

namespace {

struct Case {
  const char* algorithm;  // conv_algorithm_name of the algorithm this case covers
  ConvPass pass;
  Layout layout;
  int64_t n, c, h, w, cout, k, stride, pad, dilation, groups;
};

// Most shapes have enough work (kSerialWork) for a 2-thread plan to use both threads; the last
// and the im2col ones do not, and run serially. The last has a single image and group: one task
// for the direct kernel's planes, which only thread 0 requests.
const std::vector<Case> kCases = {
    {"direct", ConvPass::kForward, Layout::NHWC, 4, 3, 24, 24, 6, 5, 1, 0, 1, 1},
    {"direct", ConvPass::kForward, Layout::NCHW, 4, 3, 24, 24, 6, 5, 1, 2, 1, 1},
    {"depthwise", ConvPass::kForward, Layout::NHWC, 2, 32, 32, 32, 32, 3, 1, 1, 1, 32},
    {"depthwise", ConvPass::kForward, Layout::NCHW, 2, 16, 32, 32, 32, 3, 1, 1, 1, 16},
    {"gemm_nhwc_band", ConvPass::kForward, Layout::NHWC, 2, 8, 16, 16, 24, 3, 1, 1, 1, 1},
    {"gemm_nhwc_im2col", ConvPass::kForward, Layout::NHWC, 2, 64, 3, 3, 32, 3, 1, 40, 40, 1},
    {"gemm_nchw", ConvPass::kForward, Layout::NCHW, 2, 8, 16, 16, 24, 3, 1, 1, 1, 1},
    {"direct", ConvPass::kBackwardInput, Layout::NHWC, 4, 6, 24, 24, 16, 3, 1, 1, 1, 1},
    {"depthwise", ConvPass::kBackwardInput, Layout::NHWC, 2, 32, 32, 32, 32, 3, 1, 1, 1, 32},
    {"depthwise", ConvPass::kBackwardInput, Layout::NCHW, 2, 32, 32, 32, 32, 3, 2, 1, 1, 32},
    {"dx_as_forward", ConvPass::kBackwardInput, Layout::NHWC, 2, 24, 16, 16, 8, 3, 1, 1, 1, 1},
    {"col2im_nhwc", ConvPass::kBackwardInput, Layout::NHWC, 2, 24, 32, 32, 32, 3, 2, 1, 1, 1},
    {"col2im_nhwc", ConvPass::kBackwardInput, Layout::NHWC, 2, 64, 3, 3, 32, 3, 1, 40, 40, 1},  // band too big
    {"col2im_nchw", ConvPass::kBackwardInput, Layout::NCHW, 2, 24, 16, 16, 32, 3, 1, 1, 1, 1},
    {"direct", ConvPass::kBackwardFilter, Layout::NHWC, 4, 3, 24, 24, 6, 5, 1, 2, 1, 1},
    {"direct", ConvPass::kBackwardFilter, Layout::NCHW, 4, 8, 24, 24, 16, 3, 1, 1, 1, 2},
    {"depthwise", ConvPass::kBackwardFilter, Layout::NHWC, 2, 32, 32, 32, 32, 3, 1, 1, 1, 32},
    {"depthwise", ConvPass::kBackwardFilter, Layout::NCHW, 2, 16, 32, 32, 32, 3, 1, 1, 1, 16},
    {"filter_gemm_nhwc", ConvPass::kBackwardFilter, Layout::NHWC, 2, 8, 16, 16, 24, 3, 1, 1, 1, 1},
    {"filter_gemm_nchw", ConvPass::kBackwardFilter, Layout::NCHW, 2, 8, 16, 16, 24, 3, 1, 1, 1, 1},
    {"gemm_nhwc_band", ConvPass::kForward, Layout::NHWC, 1, 8, 4, 4, 24, 3, 1, 1, 1, 1},  // tiny: serial
    {"direct", ConvPass::kForward, Layout::NHWC, 1, 3, 64, 64, 6, 5, 1, 2, 1, 1},
};

ConvShape shape_of(const Case& t) {
  ConvShape s;
  s.layout = t.layout;
  s.n = t.n, s.c = t.c, s.h = t.h, s.w = t.w, s.cout = t.cout, s.kh = s.kw = t.k, s.groups = t.groups;
  s.stride_h = s.stride_w = t.stride, s.dilation_h = s.dilation_w = t.dilation;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = t.pad;
  const int64_t span = (t.k - 1) * t.dilation + 1;
  s.oh = (s.h + 2 * t.pad - span) / t.stride + 1;
  s.ow = (s.w + 2 * t.pad - span) / t.stride + 1;
  return s;
}

std::string describe(const Case& t) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s %s %s n%lld c%lld->%lld %lldx%lld k%lld s%lld p%lld d%lld g%lld", t.algorithm,
                conv_pass_name(t.pass), t.layout == Layout::NHWC ? "NHWC" : "NCHW", (long long)t.n, (long long)t.c,
                (long long)t.cout, (long long)t.h, (long long)t.w, (long long)t.k, (long long)t.stride,
                (long long)t.pad, (long long)t.dilation, (long long)t.groups);
  return buf;
}

// Forwards to `base`, recording per (thread, slot) buffer the largest request: the scratch a
// fresh runner holds after the call.
class RecordingRunner : public Runner {
 public:
  explicit RecordingRunner(Runner& base) : base_(base) {}
  int num_threads() const override { return base_.num_threads(); }
  void run(int64_t ntasks, void (*fn)(void*, int64_t, int), void* ctx) override { base_.run(ntasks, fn, ctx); }
  void* scratch(int thread, int slot, size_t bytes) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (thread >= 0 && thread <= kMaxRunnerThreads && slot >= 0 && slot < kSlots) {
        size_t& largest = largest_[size_t(thread) * kSlots + size_t(slot)];
        largest = std::max(largest, bytes);
      } else {
        bad_index_ = true;
      }
    }
    return base_.scratch(thread, slot, bytes);
  }
  int64_t bytes() const {
    int64_t total = 0;
    for (size_t b : largest_) total += int64_t(b);
    return bad_index_ ? -1 : total;
  }

 private:
  Runner& base_;
  std::mutex mutex_;
  std::vector<size_t> largest_ = std::vector<size_t>(size_t(kMaxRunnerThreads + 1) * kSlots, 0);
  bool bad_index_ = false;
};

// The rounding bound of a sum grows with its number of terms.
template <class T>
double tolerance(int64_t terms) {
  return 4.0 * std::numeric_limits<T>::epsilon() * double(terms);
}

template <class T>
void check_case(const KernelOps<T>& ops, const Case& t, Runner& runner, const std::string& label, std::mt19937& rng) {
  const ConvShape s = shape_of(t);
  const ConvPlan plan = ops.conv2d_plan(s, t.pass, runner.num_threads());
  const std::string got = conv_algorithm_name(plan.algorithm);
  check(got == t.algorithm, label + ": plan chose " + got);
  const bool enough_work = double(s.n * s.oh * s.ow) * double(s.cout * s.cin_per_group() * s.kh * s.kw) >= kSerialWork;
  check(plan.threads == (enough_work ? runner.num_threads() : 1),
        label + ": plan threads " + std::to_string(plan.threads));

  std::uniform_real_distribution<double> dist(-1, 1);
  auto random = [&](int64_t count) {
    std::vector<double> v(static_cast<size_t>(count));
    for (auto& e : v) e = double(T(dist(rng)));  // exactly the values the kernel sees
    return v;
  };
  const auto x = random(s.x_size()), w = random(s.w_size()), b = random(s.cout), dy = random(s.y_size());
  const test::Reference ref = test::reference(s, x, w, b, dy);
  const std::vector<T> xt(x.begin(), x.end()), wt(w.begin(), w.end()), bt(b.begin(), b.end()),
      dyt(dy.begin(), dy.end());
  std::vector<T> y(size_t(s.y_size()), T(7)), dx(size_t(s.x_size()), T(7));
  std::vector<T> dw(size_t(s.w_size()), T(7)), db(size_t(s.cout), T(7));
  // Runs the plan on `r` with weights `wv` and output gradient `dyv`.
  auto execute = [&](Runner& r, const std::vector<T>& wv, const std::vector<T>& dyv) {
    if (t.pass == ConvPass::kForward)
      ops.conv2d_forward(plan, xt.data(), wv.data(), nullptr, bt.data(), y.data(), r);
    else if (t.pass == ConvPass::kBackwardInput)
      ops.conv2d_backward_input(plan, dyv.data(), wv.data(), dx.data(), r);
    else
      ops.conv2d_backward_filter(plan, dyv.data(), xt.data(), dw.data(), db.data(), r);
  };
  RecordingRunner finite(runner);
  execute(finite, wt, dyt);
  if (t.pass == ConvPass::kForward) {
    compare(label + " y", y, ref.y, tolerance<T>(s.cin_per_group() * s.kh * s.kw + 1));
  } else if (t.pass == ConvPass::kBackwardInput) {
    compare(label + " dx", dx, ref.dx, tolerance<T>(s.cout_per_group() * s.kh * s.kw));
  } else {
    compare(label + " dw", dw, ref.dw, tolerance<T>(s.n * s.oh * s.ow));
    compare(label + " db", db, ref.db, tolerance<T>(s.n * s.oh * s.ow));
  }
  // workspace_bytes bounds the call, and is what it requests when the padding repair runs too:
  // NaN weights (dY for dw) make every output NaN, which the repair scans for.
  check(plan.workspace_bytes > 0 || plan.algorithm == ConvAlgorithm::kDepthwise,
        label + ": workspace_bytes " + std::to_string(plan.workspace_bytes));
  check(finite.bytes() >= 0 && finite.bytes() <= plan.workspace_bytes,
        label + ": finite data requested " + std::to_string(finite.bytes()) + " bytes, the plan says " +
            std::to_string(plan.workspace_bytes));
  const std::vector<T> nan_w(wt.size(), std::numeric_limits<T>::quiet_NaN());
  const std::vector<T> nan_dy(dyt.size(), std::numeric_limits<T>::quiet_NaN());
  RecordingRunner repaired(runner);
  if (t.pass == ConvPass::kBackwardFilter)
    execute(repaired, wt, nan_dy);
  else
    execute(repaired, nan_w, dyt);
  check(repaired.bytes() == plan.workspace_bytes, label + ": NaN data requested " + std::to_string(repaired.bytes()) +
                                                      " bytes, the plan says " + std::to_string(plan.workspace_bytes));
}

// Runs fn and expects it to throw convkit::Error with ERR_INTERNAL.
template <class F>
void expect_internal_error(const std::string& what, F&& fn) {
  std::string code = "nothing";
  try {
    fn();
  } catch (const Error& e) {
    code = e.code();
  } catch (...) {
    code = "another exception";
  }
  check(code == "ERR_INTERNAL", what + " (threw " + code + ")");
}

void check_unexecutable_plans(const KernelTable& table, Runner& serial, Runner& pool2) {
  const std::string isa = table.isa;
  const ConvShape s = shape_of(kCases[4]);  // NHWC GEMM forward
  std::vector<float> x(size_t(s.x_size()), 1), w(size_t(s.w_size()), 1), y(size_t(s.y_size()), 7);
  std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()), yd(y.begin(), y.end());
  const ConvPlan forward = table.f32.conv2d_plan(s, ConvPass::kForward, 1);
  expect_internal_error(isa + ": a float plan run in double", [&] {
    table.f64.conv2d_forward(forward, xd.data(), wd.data(), nullptr, nullptr, yd.data(), serial);
  });
  expect_internal_error(isa + ": a forward plan run as dx",
                        [&] { table.f32.conv2d_backward_input(forward, y.data(), w.data(), x.data(), serial); });
  expect_internal_error(isa + ": a 2-thread plan on one thread", [&] {
    table.f32.conv2d_forward(table.f32.conv2d_plan(s, ConvPass::kForward, 2), x.data(), w.data(), nullptr, nullptr,
                             y.data(), serial);
  });
  expect_internal_error(isa + ": a 3-thread plan on two threads", [&] {
    table.f32.conv2d_forward(table.f32.conv2d_plan(s, ConvPass::kForward, 3), x.data(), w.data(), nullptr, nullptr,
                             y.data(), pool2);
  });
  ConvPlan wrong = forward;
  wrong.algorithm = ConvAlgorithm::kGemmNchw;
  expect_internal_error(isa + ": an NCHW algorithm on an NHWC shape", [&] {
    table.f32.conv2d_forward(wrong, x.data(), w.data(), nullptr, nullptr, y.data(), serial);
  });
  wrong.algorithm = ConvAlgorithm::kDepthwise;
  expect_internal_error(isa + ": depthwise on 8 channels per group", [&] {
    table.f32.conv2d_forward(wrong, x.data(), w.data(), nullptr, nullptr, y.data(), serial);
  });
  wrong.algorithm = ConvAlgorithm(kConvAlgorithmCount);
  expect_internal_error(isa + ": an algorithm out of range", [&] {
    table.f32.conv2d_forward(wrong, x.data(), w.data(), nullptr, nullptr, y.data(), serial);
  });
  // dx as a forward needs stride 1.
  const ConvShape strided = shape_of(kCases[11]);
  std::vector<float> dy(size_t(strided.y_size()), 1), w2(size_t(strided.w_size()), 1), dx(size_t(strided.x_size()), 7);
  ConvPlan as_forward = table.f32.conv2d_plan(strided, ConvPass::kBackwardInput, 1);
  as_forward.algorithm = ConvAlgorithm::kDxAsForward;
  expect_internal_error(isa + ": dx as forward with stride 2",
                        [&] { table.f32.conv2d_backward_input(as_forward, dy.data(), w2.data(), dx.data(), serial); });
  for (const std::string& other : supported_isas()) {
    if (other == isa) continue;
    const ConvPlan foreign = kernel_table_named(other)->f32.conv2d_plan(s, ConvPass::kForward, 1);
    expect_internal_error(isa + ": a plan of " + other, [&] {
      table.f32.conv2d_forward(foreign, x.data(), w.data(), nullptr, nullptr, y.data(), serial);
    });
  }
}

}  // namespace

int main() {
  std::mt19937 rng(1414);
  SerialRunner serial;
  ThreadPool pool2(2);
  Runner* runners[] = {&serial, &pool2};
  // Every algorithm has a case.
  for (int a = 0; a < kConvAlgorithmCount; ++a) {
    bool covered = false;
    for (const Case& t : kCases) covered |= std::string(t.algorithm) == conv_algorithm_name(ConvAlgorithm(a));
    check(covered, std::string("a case covers ") + conv_algorithm_name(ConvAlgorithm(a)));
  }
  const std::vector<Case> cases = spread_subset(kCases);
  for (const std::string& isa : isas_under_test(supported_isas())) {
    const KernelTable& table = *kernel_table_named(isa);
    for (const Case& t : cases)
      for (Runner* runner : runners) {
        const std::string label = isa + " " + describe(t) + " threads " + std::to_string(runner->num_threads());
        check_case(table.f32, t, *runner, label + " f32", rng);
        check_case(table.f64, t, *runner, label + " f64", rng);
      }
    check_unexecutable_plans(table, serial, pool2);
    end_group(isa + ": " + std::to_string(cases.size()) + " cases");
  }
  return finish("test_plans");
}
