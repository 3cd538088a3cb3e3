// Checks the pooling kernels and plans of every ISA this CPU runs, in float32 and float64,
// serially and on thread pools of 1 and 3 threads, against a naive reference written straight
// from the rules of shared/reference/README.md (PyTorch's semantics).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../kernels/kernels.hpp"
#include "../runtime/dispatch.hpp"
#include "../runtime/thread_pool.hpp"
#include "test_data.hpp"
#include "test_util.hpp"

using convkit::Layout;
using convkit::PoolMode;
using convkit::PoolPass;
using convkit::PoolPlan;
using convkit::PoolShape;
using namespace convkit::test;

namespace {

std::string describe(const PoolShape& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %s n%lld c%lld h%lld w%lld k%lldx%lld s%lldx%lld p%lldx%lld%s%s",
                s.layout == Layout::NCHW ? "NCHW" : "NHWC", s.mode == PoolMode::Max ? "max" : "avg", (long long)s.n,
                (long long)s.c, (long long)s.h, (long long)s.w, (long long)s.kh, (long long)s.kw, (long long)s.stride_h,
                (long long)s.stride_w, (long long)s.pad_h, (long long)s.pad_w, s.ceil_mode ? " ceil" : "",
                s.mode == PoolMode::Avg && !s.count_include_pad ? " exclude-pad" : "");
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Naive reference, in double, from the README's rules.

// README: floor (or ceil) of (L + 2p - k) / s, plus one; with ceil_mode, drop the last window if
// it would start in the bottom/right padding.
int64_t reference_out_size(int64_t L, int64_t p, int64_t k, int64_t s, bool ceil_mode) {
  const int64_t span = L + 2 * p - k;
  if (span < 0) return 0;
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= L + p) --out;
  return out;
}

struct PoolReference {
  std::vector<double> y;
  std::vector<int32_t> argmax;  // max mode
  std::vector<double> scale;    // avg mode: mean |x| of each window, to judge rounding error
};

// For each output (in the shape's layout), calls visit(out_offset, plane_base(n, c), window)
// where window lists the real input positions (ih, iw) in row-major order and divisor is the
// avg divisor.
struct Window {
  std::vector<std::pair<int64_t, int64_t>> cells;
  int64_t divisor = 0;
};

template <class F>
void for_each_window(const PoolShape& s, F&& visit) {
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t oh = 0; oh < s.oh; ++oh)
        for (int64_t ow = 0; ow < s.ow; ++ow) {
          Window win;
          const int64_t h0 = oh * s.stride_h - s.pad_h, w0 = ow * s.stride_w - s.pad_w;
          int64_t padded_cells = 0;
          for (int64_t i = 0; i < s.kh; ++i)
            for (int64_t j = 0; j < s.kw; ++j) {
              const int64_t ih = h0 + i, iw = w0 + j;
              // Inside the padded input [-p, L + p): counts for count_include_pad.
              if (ih < s.h + s.pad_h && iw < s.w + s.pad_w) ++padded_cells;
              if (ih >= 0 && ih < s.h && iw >= 0 && iw < s.w) win.cells.push_back({ih, iw});
            }
          win.divisor = s.count_include_pad ? padded_cells : int64_t(win.cells.size());
          visit(offset(s.layout, s.c, s.oh, s.ow, n, c, oh, ow), n, c, win);
        }
}

PoolReference reference_forward(const PoolShape& s, const std::vector<double>& x) {
  PoolReference ref;
  ref.y.assign(size_t(s.y_size()), 0.0);
  ref.argmax.assign(size_t(s.y_size()), -1);
  ref.scale.assign(size_t(s.y_size()), 0.0);
  for_each_window(s, [&](int64_t o, int64_t n, int64_t c, const Window& win) {
    if (s.mode == PoolMode::Max) {
      double best = -std::numeric_limits<double>::infinity();
      int32_t best_index = -1;
      for (auto [ih, iw] : win.cells) {
        const double v = x[size_t(offset(s.layout, s.c, s.h, s.w, n, c, ih, iw))];
        // Padding never wins; the first maximum in row-major order wins ties; NaN wins.
        if (best_index < 0 || v > best || std::isnan(v)) {
          best = v;
          best_index = int32_t(ih * s.w + iw);
        }
      }
      ref.y[size_t(o)] = best;
      ref.argmax[size_t(o)] = best_index;
    } else {
      double sum = 0, abs_sum = 0;
      for (auto [ih, iw] : win.cells) {
        const double v = x[size_t(offset(s.layout, s.c, s.h, s.w, n, c, ih, iw))];
        sum += v;
        abs_sum += std::fabs(v);
      }
      ref.y[size_t(o)] = sum / double(win.divisor);
      ref.scale[size_t(o)] = abs_sum / double(win.divisor);
    }
  });
  return ref;
}

// dx, and for each dx element the sum of |contributions| (to judge rounding error).
void reference_backward(const PoolShape& s, const std::vector<double>& dy, const std::vector<int32_t>& argmax,
                        std::vector<double>& dx, std::vector<double>& dx_scale) {
  dx.assign(size_t(s.x_size()), 0.0);
  dx_scale.assign(size_t(s.x_size()), 0.0);
  for_each_window(s, [&](int64_t o, int64_t n, int64_t c, const Window& win) {
    const double g = dy[size_t(o)];
    if (s.mode == PoolMode::Max) {
      const int64_t index = argmax[size_t(o)];
      const size_t at = size_t(offset(s.layout, s.c, s.h, s.w, n, c, index / s.w, index % s.w));
      dx[at] += g;
      dx_scale[at] += std::fabs(g);
      return;
    }
    for (auto [ih, iw] : win.cells) {
      const size_t at = size_t(offset(s.layout, s.c, s.h, s.w, n, c, ih, iw));
      dx[at] += g / double(win.divisor);
      dx_scale[at] += std::fabs(g / double(win.divisor));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Comparison.

template <class T>
double relative_tolerance(PoolMode mode) {
  if (std::is_same<T, double>::value) return 1e-12;
  return mode == PoolMode::Max ? 0.0 : 1e-5;
}

// ---------------------------------------------------------------------------------------------
// Cases.

struct PoolCase {
  PoolShape shape;
  Values values = Values::Uniform;
};

PoolShape make_shape(Layout layout, PoolMode mode, int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw,
                     int64_t sh, int64_t sw, int64_t ph, int64_t pw, bool ceil_mode, bool count_include_pad) {
  PoolShape s;
  s.layout = layout;
  s.mode = mode;
  s.n = n, s.c = c, s.h = h, s.w = w;
  s.kh = kh, s.kw = kw;
  s.stride_h = sh, s.stride_w = sw;
  s.pad_h = ph, s.pad_w = pw;
  s.ceil_mode = ceil_mode;
  s.count_include_pad = count_include_pad;
  s.oh = reference_out_size(h, ph, kh, sh, ceil_mode);
  s.ow = reference_out_size(w, pw, kw, sw, ceil_mode);
  return s;
}

std::vector<PoolCase> pool_cases() {
  std::vector<PoolCase> cases;
  for (Layout layout : {Layout::NHWC, Layout::NCHW})
    for (PoolMode mode : {PoolMode::Max, PoolMode::Avg}) {
      auto add = [&](int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                     int64_t ph, int64_t pw, bool ceil_mode, bool include_pad, Values values) {
        cases.push_back({make_shape(layout, mode, n, c, h, w, kh, kw, sh, sw, ph, pw, ceil_mode, include_pad), values});
      };
      for (bool include_pad : {true, false}) {
        // ceil_mode drops a window that would start in the padding: L = 7, k = 2, s = 2, p = 1.
        add(2, 3, 7, 7, 2, 2, 2, 2, 1, 1, true, include_pad, Values::Uniform);
        add(1, 2, 7, 9, 2, 3, 2, 2, 1, 1, true, include_pad, Values::Uniform);
        // ceil_mode windows that overhang the padding.
        add(2, 5, 6, 8, 3, 3, 2, 2, 1, 0, true, include_pad, Values::Uniform);
        add(1, 4, 5, 5, 4, 4, 3, 3, 2, 2, true, include_pad, Values::Uniform);
        // Global pooling, also with many channels (channel blocks in NHWC).
        add(2, 3, 6, 5, 6, 5, 1, 1, 0, 0, false, include_pad, Values::Uniform);
        add(1, 300, 9, 9, 9, 9, 9, 9, 0, 0, false, include_pad, Values::Uniform);
        add(1, 260, 13, 12, 3, 3, 1, 1, 1, 1, false, include_pad, Values::Uniform);
        // Few output rows and enough work for threads: NHWC cuts channels into blocks forward too.
        add(1, 520, 9, 9, 9, 9, 9, 9, 0, 0, false, include_pad, Values::Uniform);
        add(1, 130, 20, 20, 3, 3, 2, 2, 1, 1, false, include_pad, Values::WithNaN);
        // Stride larger than the kernel.
        add(2, 3, 11, 13, 2, 3, 4, 5, 1, 1, false, include_pad, Values::Uniform);
        // Ties, all-negative inputs with padding, NaNs.
        add(2, 4, 8, 8, 3, 3, 1, 1, 1, 1, false, include_pad, Values::SmallIntegers);
        add(2, 4, 9, 7, 3, 2, 2, 1, 1, 1, true, include_pad, Values::AllNegative);
        add(2, 5, 9, 9, 3, 3, 2, 2, 1, 1, false, include_pad, Values::WithNaN);
        // Large enough to run on several threads.
        add(3, 17, 40, 37, 3, 3, 2, 2, 1, 1, false, include_pad, Values::Uniform);
        add(2, 8, 64, 64, 2, 2, 2, 2, 0, 0, false, include_pad, Values::SmallIntegers);
        add(2, 33, 31, 30, 5, 4, 1, 2, 2, 2, true, include_pad, Values::WithNaN);
      }
    }
  // Random shapes.
  const Values kinds[] = {Values::Uniform, Values::SmallIntegers, Values::AllNegative, Values::WithNaN};
  while (cases.size() < 600) {
    const bool medium = pick(0, 3) == 0;
    const int64_t kh = pick(1, 5), kw = pick(1, 5);
    const int64_t ph = pick(0, kh / 2), pw = pick(0, kw / 2);
    const int64_t h = medium ? pick(16, 48) : pick(1, 12), w = medium ? pick(16, 48) : pick(1, 12);
    const int64_t c = medium ? pick(1, 24) : pick(1, 70);
    PoolShape s =
        make_shape(pick(0, 1) ? Layout::NHWC : Layout::NCHW, pick(0, 1) ? PoolMode::Max : PoolMode::Avg, pick(1, 3), c,
                   h, w, kh, kw, pick(1, 4), pick(1, 4), ph, pw, pick(0, 1) == 1, pick(0, 1) == 1);
    if (s.oh < 1 || s.ow < 1) continue;
    cases.push_back({s, kinds[pick(0, 3)]});
  }
  return cases;
}

// Prepared once per case: the inputs and the reference outputs, in double.
struct PreparedPool {
  PoolCase c;
  std::vector<double> x, dy, dx, dx_scale;
  PoolReference ref;
};

// The algorithm a plan must choose, by its stable name: one per mode, pass and layout.
std::string expected_algorithm(const PoolShape& s, PoolPass pass) {
  return std::string(s.mode == PoolMode::Max ? "max" : "avg") +
         (pass == PoolPass::kForward ? "_forward_" : "_backward_") + (s.layout == Layout::NCHW ? "nchw" : "nhwc");
}

// The plan names the expected algorithm, splits the work into a sound number of tasks and
// channel blocks (none empty), uses no more threads than the runner has, and counts the scratch
// its algorithm takes.
template <class T>
std::string plan_problem(const PoolPlan& p, const PoolShape& s, PoolPass pass, int runner_threads) {
  const std::string name = convkit::pool_algorithm_name(p.algorithm);
  if (name != expected_algorithm(s, pass)) return "algorithm " + name + ", want " + expected_algorithm(s, pass);
  if (p.threads < 1 || p.threads > runner_threads) return "threads " + std::to_string(p.threads);
  if (p.tasks < 1 || p.tasks > p.units || p.tasks < p.threads) return "tasks " + std::to_string(p.tasks);
  if (p.channel_block < 1 || p.channel_blocks * p.channel_block < s.c ||
      (p.channel_blocks - 1) * p.channel_block >= s.c)
    return "channel blocks " + std::to_string(p.channel_blocks) + " x " + std::to_string(p.channel_block);
  if (s.layout == Layout::NCHW && p.channel_blocks != 1) return "NCHW channel blocks";
  const bool nchw = s.layout == Layout::NCHW, forward = pass == PoolPass::kForward;
  const int64_t units =
      (nchw ? (forward ? s.n * s.c * s.oh : s.n * s.c) : (forward ? s.n * s.oh : s.n)) * p.channel_blocks;
  if (p.units != units) return "units " + std::to_string(p.units) + ", want " + std::to_string(units);
  const int64_t share = s.mode == PoolMode::Avg && !forward ? (nchw ? s.ow : p.channel_block) : 0;
  if (p.workspace_bytes != share * int64_t(sizeof(T)) * p.threads)
    return "workspace " + std::to_string(p.workspace_bytes);
  return "";
}

template <class T>
void check_pool(const char* isa, const char* dtype, const convkit::KernelOps<T>& ops,
                const std::vector<PreparedPool>& cases, Runners& runners) {
  // The cases must reach the split paths: several threads, and NHWC channel blocks.
  int64_t threaded_plans = 0, blocked_forward = 0, blocked_backward = 0;
  for (const PreparedPool& p : cases) {
    const PoolShape& s = p.c.shape;
    const std::vector<T> x = convert<T>(p.x), dy = convert<T>(p.dy);
    const double rel = relative_tolerance<T>(s.mode);
    for (auto [runner_name, runner] : runners.all()) {
      const std::string where = std::string(isa) + " " + dtype + " " + runner_name + " " + describe(s);
      std::vector<T> y(size_t(s.y_size()), T(777));
      std::vector<int32_t> argmax(size_t(s.y_size()), -7);
      const PoolPlan forward = ops.pool2d_plan(s, PoolPass::kForward, runner->num_threads());
      const PoolPlan backward = ops.pool2d_plan(s, PoolPass::kBackward, runner->num_threads());
      for (const PoolPlan* plan : {&forward, &backward}) {
        const std::string problem = plan_problem<T>(*plan, s, plan->pass, runner->num_threads());
        check(problem.empty(), "plan " + problem + " " + where);
        threaded_plans += plan->threads > 1;
      }
      blocked_forward += forward.channel_blocks > 1;
      blocked_backward += backward.channel_blocks > 1;
      ops.pool2d_forward(forward, x.data(), y.data(), argmax.data(), *runner);
      compare("forward y " + where, y, p.ref.y, rel, s.mode == PoolMode::Avg ? &p.ref.scale : nullptr);
      if (s.mode == PoolMode::Max) {
        check(argmax == p.ref.argmax, "forward argmax " + where);
        std::vector<T> y_alone(size_t(s.y_size()), T(777));
        ops.pool2d_forward(forward, x.data(), y_alone.data(), nullptr, *runner);
        compare("forward y without argmax " + where, y_alone, p.ref.y, 0.0);
      }
      // Backward reads the reference argmax, so it is checked on its own.
      std::vector<T> dx(size_t(s.x_size()), T(999));
      ops.pool2d_backward(backward, dy.data(), s.mode == PoolMode::Max ? p.ref.argmax.data() : nullptr, dx.data(),
                          *runner);
      compare("backward dx " + where, dx, p.dx, std::is_same<T, double>::value ? 1e-12 : 1e-5, &p.dx_scale);
    }
  }
  const bool reduced = std::getenv("CONVKIT_TEST_CASES") != nullptr;  // a spread subset may miss them
  check(reduced || threaded_plans > 0, std::string("no case planned on several threads: ") + isa);
  check(reduced || blocked_forward > 0, std::string("no NHWC forward case cut channels into blocks: ") + isa);
  check(reduced || blocked_backward > 0, std::string("no NHWC backward case cut channels into blocks: ") + isa);
}

// A corrupt argmax must raise ERR_ARG and write nothing outside dx.
template <class T>
void check_bad_argmax(const char* isa, const char* dtype, const convkit::KernelOps<T>& ops, Runners& runners) {
  const int64_t guard = 4096;
  for (Layout layout : {Layout::NHWC, Layout::NCHW})
    for (int64_t bad_index : {int64_t(-1), int64_t(5 * 6), int64_t(INT32_MAX), int64_t(INT32_MIN)})
      for (auto [runner_name, runner] : runners.all()) {
        const PoolShape s = make_shape(layout, PoolMode::Max, 2, 3, 5, 6, 2, 2, 2, 2, 0, 0, false, true);
        std::vector<T> dy(size_t(s.y_size()), T(1));
        std::vector<int32_t> argmax(size_t(s.y_size()), 0);
        argmax[argmax.size() / 2] = int32_t(bad_index);
        std::vector<T> buffer(size_t(s.x_size() + 2 * guard), T(-3));
        const std::string where = std::string(isa) + " " + dtype + " " + runner_name + " argmax " +
                                  std::to_string(bad_index) + " " + describe(s);
        std::string code = "none";
        try {
          const PoolPlan plan = ops.pool2d_plan(s, PoolPass::kBackward, runner->num_threads());
          ops.pool2d_backward(plan, dy.data(), argmax.data(), buffer.data() + guard, *runner);
        } catch (const convkit::Error& e) {
          code = e.code();
        }
        check(code == "ERR_ARG", "garbage argmax raised " + code + ": " + where);
        bool guards_intact = true;
        for (int64_t i = 0; i < guard; ++i)
          guards_intact =
              guards_intact && buffer[size_t(i)] == T(-3) && buffer[size_t(guard + s.x_size() + i)] == T(-3);
        check(guards_intact, "garbage argmax wrote out of bounds: " + where);
      }
  for (auto [runner_name, runner] : runners.all()) {
    const PoolShape s = make_shape(Layout::NCHW, PoolMode::Max, 1, 1, 4, 4, 2, 2, 2, 2, 0, 0, false, true);
    std::vector<T> dy(size_t(s.y_size()), T(1)), dx(size_t(s.x_size()));
    std::string code = "none";
    try {
      ops.pool2d_backward(ops.pool2d_plan(s, PoolPass::kBackward, runner->num_threads()), dy.data(), nullptr, dx.data(),
                          *runner);
    } catch (const convkit::Error& e) {
      code = e.code();
    }
    check(code == "ERR_ARG", std::string("missing argmax raised ") + code + " on " + isa + " " + runner_name);
  }
}

// A plan for the other pass is a caller's bug: ERR_INTERNAL, with nothing written.
template <class T>
void check_wrong_pass(const char* isa, const char* dtype, const convkit::KernelOps<T>& ops, Runners& runners) {
  for (Layout layout : {Layout::NHWC, Layout::NCHW})
    for (PoolMode mode : {PoolMode::Max, PoolMode::Avg})
      for (const auto& named : runners.all()) {
        const char* runner_name = named.first;
        convkit::Runner* runner = named.second;  // not a structured binding: the lambdas below use it
        const PoolShape s = make_shape(layout, mode, 2, 3, 5, 6, 2, 2, 2, 2, 0, 0, false, true);
        const std::string where = std::string(isa) + " " + dtype + " " + runner_name + " " + describe(s);
        std::vector<T> x(size_t(s.x_size()), T(1)), y(size_t(s.y_size()), T(-3)), dx(size_t(s.x_size()), T(-3));
        std::vector<int32_t> argmax(size_t(s.y_size()), 0);
        auto code_of = [](auto&& call) -> std::string {
          try {
            call();
          } catch (const convkit::Error& e) {
            return e.code();
          }
          return "none";
        };
        const PoolPlan forward = ops.pool2d_plan(s, PoolPass::kForward, runner->num_threads());
        const PoolPlan backward = ops.pool2d_plan(s, PoolPass::kBackward, runner->num_threads());
        const std::string forward_code =
            code_of([&] { ops.pool2d_forward(backward, x.data(), y.data(), argmax.data(), *runner); });
        const std::string backward_code =
            code_of([&] { ops.pool2d_backward(forward, y.data(), argmax.data(), dx.data(), *runner); });
        check(forward_code == "ERR_INTERNAL", "forward with a backward plan raised " + forward_code + ": " + where);
        check(backward_code == "ERR_INTERNAL", "backward with a forward plan raised " + backward_code + ": " + where);
        bool untouched = true;
        for (T v : y) untouched = untouched && v == T(-3);
        for (T v : dx) untouched = untouched && v == T(-3);
        check(untouched, "a refused plan wrote output: " + where);
      }
}

// Plans on pools of up to 256 threads (no execution): many channels and a single image make
// NHWC cut channels into many blocks, where a block size rounded up must not leave an empty or
// negative last block (4289 channels in 67 blocks of 65 would end past c).
void check_plan_splits() {
  for (int64_t c :
       {int64_t(1), int64_t(130), int64_t(520), int64_t(4160), int64_t(4225), int64_t(4289), int64_t(20000)})
    for (Layout layout : {Layout::NHWC, Layout::NCHW})
      for (PoolMode mode : {PoolMode::Max, PoolMode::Avg})
        for (int threads = 1; threads <= 256; ++threads) {
          const PoolShape s = make_shape(layout, mode, 1, c, 3, 3, 3, 3, 1, 1, 0, 0, false, true);
          for (PoolPass pass : {PoolPass::kForward, PoolPass::kBackward}) {
            const PoolPlan plan = convkit::plan_pool2d(s, pass, threads, int64_t(sizeof(float)));
            const std::string problem = plan_problem<float>(plan, s, pass, threads);
            check(problem.empty(), "plan " + problem + " on " + std::to_string(threads) + " threads " + describe(s));
          }
        }
}

}  // namespace

int main() {
  // The output-size rule the reference uses must match the library's.
  for (int64_t L = 1; L <= 12; ++L)
    for (int64_t k = 1; k <= 6; ++k)
      for (int64_t p = 0; p <= k / 2; ++p)
        for (int64_t s = 1; s <= 4; ++s)
          for (bool ceil_mode : {false, true})
            check(convkit::pool_out_size(L, p, k, s, ceil_mode) == reference_out_size(L, p, k, s, ceil_mode),
                  "pool_out_size L" + std::to_string(L) + " k" + std::to_string(k) + " p" + std::to_string(p) + " s" +
                      std::to_string(s) + (ceil_mode ? " ceil" : ""));
  end_group("pool_out_size vs reference");
  check_plan_splits();
  end_group("plans on 1-256 threads");

  std::vector<PreparedPool> prepared;
  for (const PoolCase& c : spread_subset(pool_cases())) {
    convkit::validate(c.shape);
    PreparedPool p;
    p.c = c;
    p.x = random_values(c.shape.x_size(), c.values);
    p.dy = random_values(c.shape.y_size(), Values::Uniform);
    p.ref = reference_forward(c.shape, p.x);
    reference_backward(c.shape, p.dy, p.ref.argmax, p.dx, p.dx_scale);
    prepared.push_back(std::move(p));
  }

  Runners runners;
  for (const std::string& isa : isas_under_test(convkit::supported_isas())) {
    const convkit::KernelTable* table = convkit::kernel_table_named(isa);
    if (!table) {
      check(false, "no kernel table for supported ISA " + isa);
      continue;
    }
    check_pool(isa.c_str(), "f32", table->f32, prepared, runners);
    end_group(isa + " f32 pool2d forward/backward");
    check_pool(isa.c_str(), "f64", table->f64, prepared, runners);
    end_group(isa + " f64 pool2d forward/backward");
    check_bad_argmax(isa.c_str(), "f32", table->f32, runners);
    check_bad_argmax(isa.c_str(), "f64", table->f64, runners);
    end_group(isa + " bad argmax");
    check_wrong_pass(isa.c_str(), "f32", table->f32, runners);
    check_wrong_pass(isa.c_str(), "f64", table->f64, runners);
    end_group(isa + " plan of the wrong pass");
  }
  return finish("test_pool");
}
