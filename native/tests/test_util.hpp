// The one small framework of the native test programs (native/tests/test_*.cpp, run by CTest).
//
//   check(ok, what)                 one check; prints "FAIL what" when ok is false. Returns ok.
//   compare(what, got, want, rel)   one check of a whole array against a reference in double,
//   compare(..., rel, &magnitude)   element by element, by the rule below. Returns whether it passed.
//   skip(what, why)                 a case that was not run: counted, and listed with its reason
//                                   by finish().
//   end_group(name)                 prints "name: N checks, F failed" for the checks since the
//                                   previous end_group() (one line per ISA, dtype, ...).
//   finish("test_x")                prints the totals and the skips, and returns main's exit
//                                   status: nonzero on any failure, or when nothing was checked.
//   isas_under_test(supported_isas())  the ISAs to run; those this CPU or build lacks are skips.
//   spread_subset(cases)            CONVKIT_TEST_CASES=N keeps about N cases (valgrind runs a few).
//
// compare's rule (NaN-safe: a NaN or an infinity passes only where the reference has the same):
//   want NaN     -> got must be NaN (the reference itself propagates a NaN input)
//   want +-Inf   -> got must be the same infinity
//   want finite  -> got must be finite and |got - want| <= rel * m, where m is
//                   max(|want|, magnitude[i]) when a magnitude is given (e.g. the sum of |terms|,
//                   which bounds the rounding error of a sum) and 1 + |want| otherwise.
//   got and want of different sizes fail.
// Every program's finish() first checks that compare() itself catches NaN, infinities and size
// mismatches wherever they are (an earlier harness kept only the worst error, so a NaN followed
// by a finite element passed).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace convkit {
namespace test {

struct Tally {
  int checks = 0, failures = 0;
  int group_checks = 0, group_failures = 0;
  std::vector<std::pair<std::string, std::string>> skips;  // what, why
};

// One tally per program (each test is its own executable).
inline Tally& tally() {
  static Tally t;
  return t;
}

// Only the first failures are printed in full: a broken kernel fails thousands of checks alike.
constexpr int kPrintedFailures = 30;

inline bool check(bool ok, const std::string& what) {
  Tally& t = tally();
  ++t.checks, ++t.group_checks;
  if (ok) return true;
  ++t.failures, ++t.group_failures;
  if (t.failures <= kPrintedFailures) std::printf("FAIL %s\n", what.c_str());
  return false;
}

inline void skip(const std::string& what, const std::string& why) { tally().skips.emplace_back(what, why); }

inline void end_group(const std::string& name) {
  Tally& t = tally();
  std::printf("%s: %d checks, %d failed\n", name.c_str(), t.group_checks, t.group_failures);
  t.group_checks = t.group_failures = 0;
}

struct Mismatches {
  size_t count = 0;  // elements that break compare's rule (all of them on a size mismatch)
  size_t first = 0;  // index of the first
};

template <class T>
Mismatches find_mismatches(const std::vector<T>& got, const std::vector<double>& want, double rel,
                           const std::vector<double>* magnitude = nullptr) {
  Mismatches m;
  if (got.size() != want.size() || (magnitude && magnitude->size() != want.size())) {
    m.count = std::max(got.size(), want.size()) + 1;
    m.first = std::min(got.size(), want.size());
    return m;
  }
  for (size_t i = 0; i < want.size(); ++i) {
    const double g = double(got[i]), w = want[i];
    bool ok;
    if (std::isnan(w)) {
      ok = std::isnan(g);
    } else if (std::isinf(w)) {
      ok = g == w;
    } else {
      const double scale = magnitude ? std::max(std::fabs(w), (*magnitude)[i]) : 1.0 + std::fabs(w);
      ok = std::isfinite(g) && std::fabs(g - w) <= rel * scale;
    }
    if (!ok && m.count++ == 0) m.first = i;
  }
  return m;
}

template <class T>
bool compare(const std::string& what, const std::vector<T>& got, const std::vector<double>& want, double rel,
             const std::vector<double>* magnitude = nullptr) {
  const Mismatches m = find_mismatches(got, want, rel, magnitude);
  if (m.count == 0) return check(true, what);
  char detail[200];
  if (got.size() != want.size() || (magnitude && magnitude->size() != want.size()))
    std::snprintf(detail, sizeof detail, ": %zu elements, want %zu", got.size(), want.size());
  else
    std::snprintf(detail, sizeof detail, ": %zu of %zu elements wrong, first at %zu: got %.17g want %.17g (rel %.3g)",
                  m.count, want.size(), m.first, double(got[m.first]), want[m.first], rel);
  return check(false, what + detail);
}

// compare()'s rule on the values that once slipped through, in every position.
inline bool compare_catches_bad_values() {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const std::pair<double, double> bad[] = {{nan, 1.0}, {inf, 1.0}, {-inf, inf}, {1.0, nan}, {1.0, inf}, {1.5, 1.0}};
  for (const auto& [got_value, want_value] : bad)
    for (size_t at = 0; at < 3; ++at) {
      std::vector<float> got(3, 1.0f);
      std::vector<double> want(3, 1.0);
      got[at] = float(got_value), want[at] = want_value;
      if (find_mismatches(got, want, 1e-5).count != 1) return false;
    }
  const std::vector<double> same = {nan, inf, -inf, 0.0, 1.0};
  if (find_mismatches(same, same, 0.0).count != 0) return false;
  return find_mismatches(std::vector<float>(2, 1.0f), std::vector<double>(3, 1.0), 1e-5).count != 0;
}

inline int finish(const char* program) {
  check(compare_catches_bad_values(), "compare() lets a NaN, an infinity or a size mismatch pass");
  const Tally& t = tally();
  for (const auto& [what, why] : t.skips) std::printf("SKIP %s: %s\n", what.c_str(), why.c_str());
  if (t.failures > kPrintedFailures) std::printf("(%d more failures not printed)\n", t.failures - kPrintedFailures);
  std::printf("%s: %d checks, %d failed, %zu skipped\n", program, t.checks, t.failures, t.skips.size());
  // The self-check above is one check: a program that checked nothing else must not pass.
  if (t.checks <= 1) std::printf("%s: FAIL nothing was checked\n", program);
  return t.failures == 0 && t.checks > 1 ? 0 : 1;
}

// Every ISA this build has kernels for, best first; those not in `supported` (the CPU or the
// build cannot run them) are recorded as skips.
inline std::vector<std::string> isas_under_test(const std::vector<std::string>& supported) {
  std::vector<std::string> run;
  for (const char* isa : {"avx512", "avx2", "generic"}) {
    if (std::find(supported.begin(), supported.end(), isa) != supported.end())
      run.push_back(isa);
    else
      skip(std::string("every case on ") + isa, "this CPU or build cannot run it");
  }
  for (const std::string& isa : supported)
    if (std::find(run.begin(), run.end(), isa) == run.end()) run.push_back(isa);  // one added later
  return run;
}

// CONVKIT_TEST_CASES=N keeps about N cases, spread evenly over the list (valgrind runs a
// reduced set); unset, all of them.
template <class T>
std::vector<T> spread_subset(std::vector<T> cases) {
  const char* env = std::getenv("CONVKIT_TEST_CASES");
  const size_t limit = env ? std::strtoul(env, nullptr, 10) : 0;
  if (limit == 0 || limit >= cases.size()) return cases;
  std::vector<T> kept;
  for (size_t i = 0; i < limit; ++i) kept.push_back(cases[i * cases.size() / limit]);
  return kept;
}

}  // namespace test
}  // namespace convkit
