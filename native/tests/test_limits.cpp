// Geometries at the size limits (padding, dilation and stride up to 2^31 on inputs of a few
// pixels) through every convolution entry of every ISA, both layouts and dtypes, with channel
// counts that steer them to each kernel path: the results must match the reference and no
// workspace request may exceed a few MiB (issue 13: padded planes whose size wrapped, and
// workspaces that grew with padding and dilation instead of with the work).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../kernels/checked.hpp"
#include "../kernels/kernels.hpp"
#include "../runtime/dispatch.hpp"
#include "../runtime/thread_pool.hpp"
#include "conv_reference.hpp"
#include "test_util.hpp"

using namespace convkit;
using namespace convkit::test;

namespace {

// Largest workspace any of these tiny-output calls may ask for: the fixed GEMM tiles and packed
// weights take a few hundred KiB.
constexpr size_t kWorkspaceBound = size_t(4) << 20;

// Forwards to a runner, recording the largest scratch request; a request above the bound is
// refused (ERR_TOO_LARGE) instead of allocated, so that a regression fails fast, without
// touching gigabytes.
class RecordingRunner : public Runner {
 public:
  explicit RecordingRunner(Runner& base) : base_(base) {}
  int num_threads() const override { return base_.num_threads(); }
  void run(int64_t ntasks, void (*fn)(void*, int64_t, int), void* ctx) override { base_.run(ntasks, fn, ctx); }
  void* scratch(int thread, int slot, size_t bytes) override {
    size_t seen = largest_.load();
    while (bytes > seen && !largest_.compare_exchange_weak(seen, bytes)) {
    }
    if (bytes > kWorkspaceBound)
      throw Error(ErrorCode::ERR_TOO_LARGE, "workspace of " + std::to_string(bytes) + " bytes");
    return base_.scratch(thread, slot, bytes);
  }
  size_t take_largest() { return largest_.exchange(0); }

 private:
  Runner& base_;
  std::atomic<size_t> largest_{0};
};

// `terms`: the most products summed into one element; rounding error grows about as its root.
template <class T>
void compare_sums(const std::string& what, const std::vector<T>& got, const std::vector<double>& want, int64_t terms) {
  compare(what, got, want, (sizeof(T) == 4 ? 2e-5 : 1e-12) * std::max(1.0, std::sqrt(double(terms) / 64)));
}

// Runs one op, turning a thrown Error into a failure, then checks the largest workspace.
template <class F>
bool run_op(const std::string& what, RecordingRunner& runner, F&& op) {
  runner.take_largest();
  try {
    op();
  } catch (const Error& e) {
    return check(false, what + ": threw " + e.code() + " " + e.what());
  }
  const size_t largest = runner.take_largest();
  return check(largest <= kWorkspaceBound, what + ": asked for a workspace of " + std::to_string(largest) + " bytes");
}

template <class T>
void check_limits(const KernelOps<T>& ops, const ConvShape& s, RecordingRunner& runner, const std::string& label,
                  std::mt19937& rng) {
  std::uniform_real_distribution<double> dist(-1, 1);
  auto random = [&](int64_t count) {
    std::vector<double> v(static_cast<size_t>(count));
    for (auto& e : v) e = double(T(dist(rng)));
    return v;
  };
  const auto x = random(s.x_size()), w = random(s.w_size()), b = random(s.cout), dy = random(s.y_size());
  const Reference ref = reference(s, x, w, b, dy);
  std::vector<T> xt(x.begin(), x.end()), wt(w.begin(), w.end()), bt(b.begin(), b.end()), dyt(dy.begin(), dy.end());
  std::vector<T> y(size_t(s.y_size()), T(7)), dx(size_t(s.x_size()), T(7)), dw(size_t(s.w_size()), T(7)),
      db(size_t(s.cout), T(7));
  if (run_op(label + " forward", runner, [&] {
        ops.conv2d_forward(ops.conv2d_plan(s, ConvPass::kForward, runner.num_threads()), xt.data(), wt.data(), nullptr,
                           bt.data(), y.data(), runner);
      }))
    compare_sums(label + " forward", y, ref.y, s.cin_per_group() * s.kh * s.kw);
  if (run_op(label + " backward input", runner, [&] {
        ops.conv2d_backward_input(ops.conv2d_plan(s, ConvPass::kBackwardInput, runner.num_threads()), dyt.data(),
                                  wt.data(), dx.data(), runner);
      }))
    compare_sums(label + " backward input", dx, ref.dx, s.cout_per_group() * s.kh * s.kw);
  if (run_op(label + " backward filter", runner, [&] {
        ops.conv2d_backward_filter(ops.conv2d_plan(s, ConvPass::kBackwardFilter, runner.num_threads()), dyt.data(),
                                   xt.data(), dw.data(), db.data(), runner);
      })) {
    compare_sums(label + " backward filter", dw, ref.dw, s.n * s.oh * s.ow);
    compare_sums(label + " backward bias", db, ref.db, s.n * s.oh * s.ow);
  }
}

struct Geometry {
  const char* what;
  int64_t h, w, kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, dilation_h, dilation_w;
};

constexpr int64_t k2p30 = int64_t(1) << 30, k2p31 = int64_t(1) << 31;

// Output sizes stay a few pixels; most have taps that land on the input, so values are not all 0.
const Geometry kGeometries[] = {
    // The repro: a padded plane of about 2^31 x 2^31 whose byte size wrapped.
    {"issue repro", 1, 1, 2, 2, 2, 2, k2p30, k2p30 - 15, k2p30, k2p30 - 15, k2p31 - 1, k2p31 - 31},
    {"issue repro stride 1", 1, 1, 2, 2, 1, 1, k2p30, k2p30 - 15, k2p30, k2p30 - 15, k2p31 - 1, k2p31 - 31},
    // 'same' padding with dilation 40000: 6.4 GB of padded planes for one output pixel.
    {"dilation 40000 same", 1, 1, 2, 2, 1, 1, 20000, 20000, 20000, 20000, 40000, 40000},
    {"dilation 80000 centre taps", 2, 3, 3, 3, 1, 1, 80000, 80000, 80000, 80000, 80000, 80000},
    {"dilation and padding 2^30", 2, 3, 3, 3, 1, 1, k2p30, k2p30, k2p30, k2p30, k2p30, k2p30},
    {"padding 2^30 stride 2^31", 1, 2, 2, 2, k2p31, k2p31, k2p30, k2p30, k2p30, k2p30, 1, 1},
    {"padding, stride and dilation 2^31", 1, 1, 2, 2, k2p31, k2p31, k2p31, k2p31, k2p31, k2p31, k2p31, k2p31},
    // Many output pixels (crossing the GEMM tiles) from an input band of mostly padding: the
    // NHWC forward's im2col fallback, and dx through col2im instead of as a forward.
    {"stride 100, padding 1000, dilation 500", 2, 2, 3, 3, 100, 100, 1000, 1000, 1000, 1000, 500, 500},
    {"dilation 500, padding 520", 1, 1, 3, 3, 1, 1, 520, 520, 520, 520, 500, 500},
    // Two output rows 2^31 input rows apart, one of them in the padding.
    {"stride and top padding 2^31", 3, 2, 1, 2, k2p31, 1, k2p31, 3, 0, 3, 1, 4},
};

struct Channels {
  int64_t c, cout, groups;
};

// Direct (then depthwise once its planes are refused), direct then GEMM, GEMM with the NHWC
// band and dx as a forward, depthwise with multiplier 1 and 2, one input channel to many,
// grouped GEMM, and a K of 360 (more than one KC block).
const Channels kChannels[] = {{1, 1, 1}, {2, 3, 1},  {20, 20, 1}, {3, 3, 3},
                              {2, 4, 2}, {1, 20, 1}, {4, 40, 2},  {40, 36, 1}};

// Cases outside the cross product: a grouped layer with 2 input and 17 output channels in each
// of 1024 groups, whose packed GEMM weights once took KC/2 = 128 times the weights (29 MB).
const std::pair<Geometry, Channels> kExtraCases[] = {
    {{"grouped 1x1, 2 channels per group", 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1}, {2048, 17408, 1024}},
};

int64_t out_size(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t k, int64_t d, int64_t stride) {
  const int64_t span = d * (k - 1) + 1;
  return in + pad_lo + pad_hi < span ? 0 : (in + pad_lo + pad_hi - span) / stride + 1;
}

std::string describe(const Geometry& g, const Channels& ch, Layout layout) {
  return std::string(g.what) + (layout == Layout::NHWC ? " NHWC" : " NCHW") + " c" + std::to_string(ch.c) + " cout" +
         std::to_string(ch.cout) + " g" + std::to_string(ch.groups);
}

void checked_arithmetic_checks() {
  auto expect_too_large = [](const char* what, auto call) {
    try {
      call();
      check(false, std::string(what) + ": no error");
    } catch (const Error& e) {
      check(std::string(e.code()) == "ERR_TOO_LARGE", std::string(what) + ": code " + e.code());
    }
  };
  expect_too_large("checked_elements of 2^40 x 2^40", [] { checked_elements({int64_t(1) << 40, int64_t(1) << 40}); });
  expect_too_large("checked_bytes of 2^62 doubles", [] { checked_bytes(int64_t(1) << 62, 8); });
  expect_too_large("checked_bytes of a negative count", [] { checked_bytes(-4, 4); });
  check(saturating_product({int64_t(1) << 33, int64_t(1) << 33}) == kSaturated &&
            saturating_product({3, 5, 7}) == 105 && saturating_sum(kSaturated, 1) == kSaturated,
        "saturating arithmetic");
}

}  // namespace

int main() {
  checked_arithmetic_checks();
  end_group("checked arithmetic");
  std::mt19937 rng(4321);
  SerialRunner serial;
  ThreadPool pool2(2);
  RecordingRunner recording_serial(serial), recording_pool(pool2);
  RecordingRunner* runners[] = {&recording_serial, &recording_pool};
  std::vector<std::pair<Geometry, Channels>> cases;
  for (const Geometry& g : kGeometries)
    for (const Channels& ch : kChannels) cases.emplace_back(g, ch);
  for (const auto& extra : kExtraCases) cases.push_back(extra);
  cases = spread_subset(cases);  // valgrind runs a few
  int index = 0;
  for (const std::string& isa : isas_under_test(supported_isas())) {
    const KernelTable* table = kernel_table_named(isa);
    for (const auto& [g, ch] : cases)
      for (Layout layout : {Layout::NHWC, Layout::NCHW}) {
        ConvShape s;
        s.layout = layout;
        s.n = 2, s.c = ch.c, s.h = g.h, s.w = g.w, s.cout = ch.cout, s.groups = ch.groups, s.kh = g.kh, s.kw = g.kw;
        s.stride_h = g.stride_h, s.stride_w = g.stride_w, s.dilation_h = g.dilation_h, s.dilation_w = g.dilation_w;
        s.pad_top = g.pad_top, s.pad_left = g.pad_left, s.pad_bottom = g.pad_bottom, s.pad_right = g.pad_right;
        s.oh = out_size(s.h, s.pad_top, s.pad_bottom, s.kh, s.dilation_h, s.stride_h);
        s.ow = out_size(s.w, s.pad_left, s.pad_right, s.kw, s.dilation_w, s.stride_w);
        const std::string label = isa + " " + describe(g, ch, layout);
        try {
          validate(s);
        } catch (const Error& e) {
          check(false, label + ": validate refused it: " + e.what());
          continue;
        }
        RecordingRunner& runner = *runners[index++ % 2];
        const std::string with = label + " threads " + std::to_string(runner.num_threads());
        check_limits(table->f32, s, runner, with + " f32", rng);
        check_limits(table->f64, s, runner, with + " f64", rng);
      }
    end_group(isa + ": " + std::to_string(cases.size()) + " (geometry, channels) cases x 2 layouts x 2 dtypes");
  }
  return finish("test_limits");
}
