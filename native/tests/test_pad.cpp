// Checks the zero-padding kernel of every ISA this CPU runs, in float32 and float64, serially and
// on thread pools of 1 and 3 threads, against a plain reference: exact equality.
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "../kernels/kernels.hpp"
#include "../runtime/dispatch.hpp"
#include "test_data.hpp"
#include "test_util.hpp"

using convkit::Layout;
using convkit::PadShape;
using namespace convkit::test;

namespace {

std::vector<double> reference_zero_pad(const PadShape& s, const std::vector<double>& x) {
  std::vector<double> y(size_t(s.y_size()), 0.0);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t h = 0; h < s.h; ++h)
        for (int64_t w = 0; w < s.w; ++w)
          y[size_t(offset(s.layout, s.c, s.out_h(), s.out_w(), n, c, h + s.pad_top, w + s.pad_left))] =
              x[size_t(offset(s.layout, s.c, s.h, s.w, n, c, h, w))];
  return y;
}

struct PreparedPad {
  PadShape shape;
  std::vector<double> x, y;
};

std::vector<PreparedPad> pad_cases() {
  std::vector<PreparedPad> cases;
  for (int i = 0; i < 120; ++i) {
    PadShape s;
    s.layout = i % 2 ? Layout::NCHW : Layout::NHWC;
    const bool medium = i % 10 == 0;
    s.n = pick(1, 3);
    s.c = medium ? pick(8, 20) : pick(1, 9);
    s.h = medium ? pick(30, 60) : pick(1, 9);
    s.w = medium ? pick(30, 60) : pick(1, 9);
    s.pad_top = pick(0, 3), s.pad_bottom = pick(0, 3), s.pad_left = pick(0, 3), s.pad_right = pick(0, 3);
    convkit::validate(s);
    PreparedPad p{s, random_values(s.x_size(), Values::Uniform), {}};
    p.y = reference_zero_pad(s, p.x);
    cases.push_back(std::move(p));
  }
  return cases;
}

template <class T>
void check_pad(const char* isa, const char* dtype, const convkit::KernelOps<T>& ops,
               const std::vector<PreparedPad>& cases, Runners& runners) {
  for (const PreparedPad& p : cases) {
    const std::vector<T> x = convert<T>(p.x);
    for (auto [runner_name, runner] : runners.all()) {
      std::vector<T> y(size_t(p.shape.y_size()), std::numeric_limits<T>::quiet_NaN());
      ops.zero_pad(p.shape, x.data(), y.data(), *runner);
      char what[160];
      std::snprintf(what, sizeof what, "zero_pad %s %s %s %s n%lld c%lld h%lld w%lld pads %lld,%lld,%lld,%lld", isa,
                    dtype, runner_name, p.shape.layout == Layout::NCHW ? "NCHW" : "NHWC", (long long)p.shape.n,
                    (long long)p.shape.c, (long long)p.shape.h, (long long)p.shape.w, (long long)p.shape.pad_top,
                    (long long)p.shape.pad_bottom, (long long)p.shape.pad_left, (long long)p.shape.pad_right);
      compare(what, y, p.y, 0.0);
    }
  }
}

}  // namespace

int main() {
  const std::vector<PreparedPad> pads = pad_cases();
  Runners runners;
  for (const std::string& isa : isas_under_test(convkit::supported_isas())) {
    const convkit::KernelTable* table = convkit::kernel_table_named(isa);
    if (!table) {
      check(false, "no kernel table for supported ISA " + isa);
      continue;
    }
    check_pad(isa.c_str(), "f32", table->f32, pads, runners);
    check_pad(isa.c_str(), "f64", table->f64, pads, runners);
    end_group(isa + " zero_pad");
  }
  return finish("test_pad");
}
