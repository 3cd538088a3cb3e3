// Checks the GEMM building blocks of every ISA this CPU runs, directly and on every edge of the
// register tile: the micro-kernel for each mr <= MR, nr <= NR and k around KC, with and without
// accumulation and biases, on packed panels and on strided multi-run ARows; the A and B packing
// of panels, blocks and whole matrices; and the macro-kernel over packed operands. Inputs are
// multiples of 1/4 in [-2, 2], so every product and sum is exact in float and double and results
// are compared exactly (a NaN never equals). Padding that must not be read is NaN, and memory
// that must not be written is NaN and must stay so.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../kernels/common.hpp"
#include "../kernels/ukernel/a_rows.hpp"
#include "../runtime/dispatch.hpp"
#include "../runtime/thread_pool.hpp"
#include "gemm_kernels.hpp"
#include "test_util.hpp"

using convkit::ARows;
using convkit::KRun;
using convkit_test::GemmKernels;
using namespace convkit::test;

namespace {

std::mt19937_64 rng(20240914);

template <class T>
T quarter() {
  return T(std::uniform_int_distribution<int>(-8, 8)(rng)) / T(4);
}

template <class T>
std::vector<T> quarters(int64_t count) {
  std::vector<T> v(static_cast<size_t>(count));
  for (T& e : v) e = quarter<T>();
  return v;
}

template <class T>
constexpr T kNaN = std::numeric_limits<T>::quiet_NaN();

template <class T>
bool same(T got, double want) {
  return std::isnan(want) ? std::isnan(got) : double(got) == want;
}

std::string fmt(const char* format, long long a = 0, long long b = 0, long long c = 0, long long d = 0, long long e = 0,
                long long f = 0) {
  char buf[200];
  std::snprintf(buf, sizeof buf, format, a, b, c, d, e, f);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Micro-kernel.

// How the micro-kernel's A rows are laid out for a k-step count.
enum class RowsKind { kPackedPanel, kStridedRows, kThreeRuns };
const char* rows_kind_name(RowsKind kind) {
  return kind == RowsKind::kPackedPanel ? "packed" : kind == RowsKind::kStridedRows ? "strided" : "runs";
}

// A rows of MR x lda, NaN wherever the micro-kernel must not look (rows past mr, gaps between
// runs, the tail of each row), and the runs that cover k steps.
template <class T>
struct ARowsCase {
  std::vector<T> a;
  int64_t lda = 0;
  std::vector<KRun> runs;
};

template <class T>
ARowsCase<T> make_a_rows(const GemmKernels<T>& g, RowsKind kind, int mr, int64_t k) {
  ARowsCase<T> c;
  if (kind == RowsKind::kPackedPanel) {
    c.lda = std::max<int64_t>(g.kc, k);  // a panel's rows are KC apart; past KC, as long as k
    c.runs = {{0, k}};
  } else if (kind == RowsKind::kStridedRows) {
    c.lda = k + 5;
    c.runs = {{2, k}};
  } else {
    // Up to three runs with gaps, like the windows rows of an input band.
    const int64_t first = k / 3, second = (k - first) / 2, third = k - first - second;
    int64_t at = 1;
    for (int64_t length : {first, second, third}) {
      if (length == 0) continue;
      c.runs.push_back({at, length});
      at += length + 3;
    }
    c.lda = at + 2;
  }
  c.a.assign(size_t(g.mr * c.lda), kNaN<T>);
  for (int i = 0; i < mr; ++i)
    for (const KRun& run : c.runs)
      for (int64_t t = 0; t < run.length; ++t) c.a[size_t(i * c.lda + run.offset + t)] = quarter<T>();
  return c;
}

// A(i, step) of the case: the step-th k element of row i, over the runs in order.
template <class T>
T a_at(const ARowsCase<T>& c, int i, int64_t step) {
  for (const KRun& run : c.runs) {
    if (step < run.length) return c.a[size_t(i * c.lda + run.offset + step)];
    step -= run.length;
  }
  return kNaN<T>;
}

enum Bias { kNoBias = 0, kBiasM = 1, kBiasN = 2, kBothBiases = 3 };

// One micro-kernel call against the reference: C's valid mr x nr part exact, everything else in
// C's buffer untouched.
template <class T>
void check_ukernel(const char* isa, const char* dtype, const GemmKernels<T>& g, int mr, int nr, int64_t k,
                   RowsKind kind, bool accumulate, int bias, bool nan_in_a) {
  ARowsCase<T> rows = make_a_rows(g, kind, mr, k);
  if (nan_in_a) rows.a[size_t(rows.runs[0].offset)] = kNaN<T>;  // row 0's first step
  // B panel: k rows of NR, NaN past nr.
  std::vector<T> b(size_t(k * g.nr), kNaN<T>);
  for (int64_t t = 0; t < k; ++t)
    for (int j = 0; j < nr; ++j) b[size_t(t * g.nr + j)] = quarter<T>();
  std::vector<T> bias_m = quarters<T>(g.mr), bias_n = quarters<T>(g.nr);
  // C: two rows and five columns more than the tile, NaN outside the valid part.
  const int64_t ldc = g.nr + 5;
  std::vector<T> c(size_t((g.mr + 2) * ldc), kNaN<T>);
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) c[size_t(i * ldc + j)] = quarter<T>();
  const std::vector<T> c_before = c;

  const ARows<T> view{rows.a.data(), rows.lda, rows.runs.data(), int(rows.runs.size())};
  g.ukernel(view, b.data(), c.data(), ldc, mr, nr, accumulate, bias & kBiasM ? bias_m.data() : nullptr,
            bias & kBiasN ? bias_n.data() : nullptr);

  bool ok = true;
  int64_t bad = -1;
  for (int i = 0; i < g.mr + 2 && ok; ++i)
    for (int64_t j = 0; j < ldc && ok; ++j) {
      const size_t at = size_t(i * ldc + j);
      double want;
      if (i < mr && j < nr) {
        double sum = 0;
        for (int64_t t = 0; t < k; ++t) sum += double(a_at(rows, i, t)) * double(b[size_t(t * g.nr + j)]);
        if (accumulate) {
          want = double(c_before[at]) + sum;
        } else {
          want = sum + (bias & kBiasM ? double(bias_m[size_t(i)]) : 0.0) +
                 (bias & kBiasN ? double(bias_n[size_t(j)]) : 0.0);
        }
      } else {
        want = kNaN<double>;  // outside the tile: never written
      }
      if (!same(c[at], want)) ok = false, bad = int64_t(at);
    }
  check(ok, std::string(isa) + " " + dtype + " " + rows_kind_name(kind) +
                fmt(" ukernel mr %lld nr %lld k %lld accumulate %lld bias %lld nan %lld", mr, nr, k, accumulate, bias,
                    nan_in_a) +
                (ok ? "" : fmt(" first wrong C element at row %lld col %lld", bad / ldc, bad % ldc)));
}

template <class T>
void check_ukernels(const char* isa, const char* dtype, const GemmKernels<T>& g) {
  const int64_t steps[] = {1, 2, g.kc - 1, g.kc, g.kc + 1};
  const RowsKind kinds[] = {RowsKind::kPackedPanel, RowsKind::kStridedRows, RowsKind::kThreeRuns};
  // Every tile edge and k, with the biases and row layouts rotating so that each meets many edges.
  // Under CONVKIT_TEST_CASES (valgrind) only the first, second-to-last and last rows and columns.
  const bool reduced = std::getenv("CONVKIT_TEST_CASES") != nullptr;
  auto edge = [&](int v, int last) { return !reduced || v == 1 || v >= last - 1; };
  int rotation = 0;
  for (int mr = 1; mr <= g.mr; ++mr)
    for (int nr = 1; nr <= g.nr; ++nr) {
      if (!edge(mr, g.mr) || !edge(nr, g.nr)) continue;
      for (int64_t k : steps)
        for (bool accumulate : {false, true}) {
          ++rotation;
          check_ukernel(isa, dtype, g, mr, nr, k, kinds[rotation % 3], accumulate, rotation / 3 % 4, false);
        }
    }
  // Every combination on the corners of the tile, at both ends of k; and NaN propagation.
  const int corners[][2] = {{1, 1}, {1, g.nr}, {g.mr, 1}, {g.mr, g.nr}, {g.mr - 1 > 0 ? g.mr - 1 : 1, g.nr - 1}};
  for (const auto& corner : corners)
    for (int64_t k : {int64_t(1), g.kc + 1})
      for (RowsKind kind : kinds)
        for (bool accumulate : {false, true})
          for (int bias = 0; bias < 4; ++bias)
            for (bool nan_in_a : {false, true})
              check_ukernel(isa, dtype, g, corner[0], corner[1], k, kind, accumulate, bias, nan_in_a);
}

// ---------------------------------------------------------------------------------------------
// Packing.

// A strided matrix of rows x cols, row-major (cs = 1, rows a few elements longer) or
// column-major (rs = 1).
template <class T>
struct Strided {
  std::vector<T> data;
  int64_t rs = 0, cs = 0;
  T at(int64_t i, int64_t j) const { return data[size_t(i * rs + j * cs)]; }
};

template <class T>
Strided<T> strided(int64_t rows, int64_t cols, bool column_major) {
  Strided<T> m;
  if (column_major) {
    m.rs = 1, m.cs = rows + 2;
    m.data.assign(size_t(m.cs * cols), kNaN<T>);
  } else {
    m.rs = cols + 3, m.cs = 1;
    m.data.assign(size_t(m.rs * rows), kNaN<T>);
  }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) m.data[size_t(i * m.rs + j * m.cs)] = quarter<T>();
  return m;
}

// got[0..expected.size()) == expected exactly, and the `margin` elements after it still NaN.
template <class T>
bool packed_as(const std::vector<T>& got, const std::vector<double>& expected, int64_t* bad) {
  for (size_t i = 0; i < got.size(); ++i) {
    const double want = i < expected.size() ? expected[i] : kNaN<double>;
    if (!same(got[i], want)) {
      *bad = int64_t(i);
      return false;
    }
  }
  return true;
}

constexpr int64_t kMargin = 64;

template <class T>
void check_panels(const char* isa, const char* dtype, const GemmKernels<T>& g) {
  const int64_t depths[] = {1, 2, g.kc - 1, g.kc};
  for (bool column_major : {false, true})
    for (int64_t kc : depths) {
      // A panel: rows x kc at row stride ld (KC, or kc when packed compactly), zero rows to MR.
      for (int rows = 1; rows <= g.mr; ++rows)
        for (int64_t ld : {g.kc, kc}) {
          const Strided<T> src = strided<T>(rows, kc, column_major);
          std::vector<T> dest(size_t(g.mr * ld + kMargin), kNaN<T>);
          std::vector<double> expected(size_t(g.mr * ld), kNaN<double>);
          for (int i = 0; i < g.mr; ++i)
            for (int64_t t = 0; t < kc; ++t) expected[size_t(i * ld + t)] = i < rows ? double(src.at(i, t)) : 0.0;
          g.pack_a_panel(dest.data(), src.data.data(), src.rs, src.cs, rows, kc, ld);
          int64_t bad = -1;
          const bool ok = packed_as(dest, expected, &bad);
          check(ok, std::string(isa) + " " + dtype +
                        fmt(" pack_a_panel rows %lld kc %lld ld %lld column-major %lld, wrong at %lld", rows, kc, ld,
                            column_major, bad));
        }
      // B panel: kc x cols, zero columns to NR.
      for (int cols = 1; cols <= g.nr; ++cols) {
        const Strided<T> src = strided<T>(kc, cols, column_major);
        std::vector<T> dest(size_t(kc * g.nr + kMargin), kNaN<T>);
        std::vector<double> expected(size_t(kc * g.nr));
        for (int64_t t = 0; t < kc; ++t)
          for (int j = 0; j < g.nr; ++j) expected[size_t(t * g.nr + j)] = j < cols ? double(src.at(t, j)) : 0.0;
        g.pack_b_panel(dest.data(), src.data.data(), src.rs, src.cs, cols, kc);
        int64_t bad = -1;
        const bool ok = packed_as(dest, expected, &bad);
        check(ok,
              std::string(isa) + " " + dtype +
                  fmt(" pack_b_panel cols %lld kc %lld column-major %lld, wrong at %lld", cols, kc, column_major, bad));
      }
    }
}

// Where pack_a_full puts A(i, k): KC blocks at k0 * round_up(M, MR), MR-row panels of kc-long
// rows inside; pack_b_full puts B(k, j) in KC blocks at k0 * round_up(N, NR), NR-wide panels.
int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

template <class T>
void check_full_packing(const char* isa, const char* dtype, const GemmKernels<T>& g,
                        const std::vector<std::pair<const char*, convkit::Runner*>>& runners) {
  const int64_t ms[] = {1, g.mr - 1, g.mr, g.mr + 1, 2 * g.mr + 3};
  const int64_t ns[] = {1, g.nr - 1, g.nr, g.nr + 1, 2 * g.nr + 5};
  const int64_t ks[] = {1, g.kc - 1, g.kc, g.kc + 1, 2 * g.kc + 3};
  for (auto [runner_name, runner] : runners)
    for (bool column_major : {false, true})
      for (int64_t K : ks) {
        for (int64_t M : ms) {
          if (M < 1) continue;
          const Strided<T> src = strided<T>(M, K, column_major);
          const int64_t mp = round_up(M, g.mr), size = g.packed_a_size(M, K);
          check(size == K * mp, std::string(isa) + " " + dtype + fmt(" packed_a_size M %lld K %lld", M, K));
          std::vector<double> expected(size_t(K * mp), 0.0);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t k = 0; k < K; ++k) {
              const int64_t k0 = k / g.kc * g.kc, kc = std::min(g.kc, K - k0);
              expected[size_t(k0 * mp + i / g.mr * g.mr * kc + i % g.mr * kc + (k - k0))] = double(src.at(i, k));
            }
          std::vector<T> dest(size_t(K * mp + kMargin), kNaN<T>);
          g.pack_a_full(dest.data(), src.data.data(), src.rs, src.cs, M, K, *runner);
          int64_t bad = -1;
          const bool ok = packed_as(dest, expected, &bad);
          check(ok, std::string(isa) + " " + dtype + " " + runner_name +
                        fmt(" pack_a_full M %lld K %lld column-major %lld, wrong at %lld", M, K, column_major, bad));
        }
        for (int64_t N : ns) {
          if (N < 1) continue;
          const Strided<T> src = strided<T>(K, N, column_major);
          const int64_t np = round_up(N, g.nr), size = g.packed_b_size(K, N);
          check(size == K * np, std::string(isa) + " " + dtype + fmt(" packed_b_size K %lld N %lld", K, N));
          std::vector<double> expected(size_t(K * np), 0.0);
          for (int64_t k = 0; k < K; ++k)
            for (int64_t j = 0; j < N; ++j) {
              const int64_t k0 = k / g.kc * g.kc, kc = std::min(g.kc, K - k0);
              expected[size_t(k0 * np + j / g.nr * g.nr * kc + (k - k0) * g.nr + j % g.nr)] = double(src.at(k, j));
            }
          std::vector<T> dest(size_t(K * np + kMargin), kNaN<T>);
          g.pack_b_full(dest.data(), src.data.data(), src.rs, src.cs, K, N, *runner);
          int64_t bad = -1;
          const bool ok = packed_as(dest, expected, &bad);
          check(ok, std::string(isa) + " " + dtype + " " + runner_name +
                        fmt(" pack_b_full K %lld N %lld column-major %lld, wrong at %lld", K, N, column_major, bad));
        }
      }
}

// ---------------------------------------------------------------------------------------------
// Macro-kernel: C = A * B (+ bias) (+ C) over packed operands, k block by k block, with A packed
// both ways the drivers pack it: pack_a_block (rows KC apart) and pack_a_full (rows kc apart).

template <class T>
void check_macro_kernel(const char* isa, const char* dtype, const GemmKernels<T>& g, convkit::Runner& runner) {
  const int64_t ms[] = {1, g.mr - 1, g.mr + 1, 2 * g.mr + 3};
  const int64_t ns[] = {1, g.nr - 1, g.nr + 1, 2 * g.nr + 5};
  const int64_t ks[] = {1, g.kc, g.kc + 1};
  int rotation = 0;
  for (int64_t M : ms)
    for (int64_t N : ns)
      for (int64_t K : ks)
        for (bool compact_a : {false, true}) {
          if (M < 1 || N < 1) continue;
          ++rotation;
          const bool accumulate = rotation % 2 == 1;
          const int bias = accumulate ? kNoBias : rotation / 2 % 4;
          const Strided<T> a = strided<T>(M, K, rotation % 3 == 0), b = strided<T>(K, N, rotation % 5 == 0);
          const std::vector<T> bias_m = quarters<T>(M), bias_n = quarters<T>(N);
          const int64_t ldc = N + 3;
          std::vector<T> c(size_t(M * ldc + kMargin), kNaN<T>);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) c[size_t(i * ldc + j)] = quarter<T>();
          std::vector<double> expected(size_t(M * ldc), kNaN<double>);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              double sum = 0;
              for (int64_t k = 0; k < K; ++k) sum += double(a.at(i, k)) * double(b.at(k, j));
              const double before = accumulate ? double(c[size_t(i * ldc + j)]) : 0.0;
              expected[size_t(i * ldc + j)] = before + sum + (bias & kBiasM ? double(bias_m[size_t(i)]) : 0.0) +
                                              (bias & kBiasN ? double(bias_n[size_t(j)]) : 0.0);
            }

          const int64_t mp = round_up(M, g.mr), np = round_up(N, g.nr);
          std::vector<T> pb(size_t(g.packed_b_size(K, N)));
          g.pack_b_full(pb.data(), b.data.data(), b.rs, b.cs, K, N, runner);
          std::vector<T> pa_full, pa_block;
          if (compact_a) {
            pa_full.resize(size_t(g.packed_a_size(M, K)));
            g.pack_a_full(pa_full.data(), a.data.data(), a.rs, a.cs, M, K, runner);
          } else {
            pa_block.resize(size_t(mp * g.kc));
          }
          for (int64_t k0 = 0; k0 < K; k0 += g.kc) {
            const int64_t kc = std::min(g.kc, K - k0);
            const T* pa;
            int64_t lda;
            if (compact_a) {
              pa = pa_full.data() + k0 * mp, lda = kc;
            } else {
              g.pack_a_block(pa_block.data(), a.data.data() + k0 * a.cs, a.rs, a.cs, M, kc);
              pa = pa_block.data(), lda = g.kc;
            }
            g.macro_kernel(M, N, kc, pa, pb.data() + k0 * np, c.data(), ldc, accumulate || k0 > 0,
                           k0 == 0 && bias & kBiasM ? bias_m.data() : nullptr,
                           k0 == 0 && bias & kBiasN ? bias_n.data() : nullptr, lda);
          }
          int64_t bad = -1;
          const bool ok = packed_as(c, expected, &bad);
          check(ok, std::string(isa) + " " + dtype +
                        fmt(" macro_kernel M %lld N %lld K %lld compact A %lld accumulate %lld bias %lld", M, N, K,
                            compact_a, accumulate, bias) +
                        (ok ? "" : fmt(", wrong at row %lld col %lld", bad / ldc, bad % ldc)));
        }
}

// pack_b_block is pack_b_full's panel walk within one k block: checked through the same layout.
template <class T>
void check_blocks(const char* isa, const char* dtype, const GemmKernels<T>& g) {
  for (int64_t cols : {int64_t(1), int64_t(g.nr), int64_t(2 * g.nr + 1)})
    for (int64_t kc : {int64_t(1), g.kc}) {
      const Strided<T> src = strided<T>(kc, cols, cols % 2 == 0);
      const int64_t np = round_up(cols, g.nr);
      std::vector<double> expected(size_t(kc * np), 0.0);
      for (int64_t t = 0; t < kc; ++t)
        for (int64_t j = 0; j < cols; ++j)
          expected[size_t(j / g.nr * g.nr * kc + t * g.nr + j % g.nr)] = double(src.at(t, j));
      std::vector<T> dest(size_t(kc * np + kMargin), kNaN<T>);
      g.pack_b_block(dest.data(), src.data.data(), src.rs, src.cs, cols, kc);
      int64_t bad = -1;
      const bool ok = packed_as(dest, expected, &bad);
      check(ok, std::string(isa) + " " + dtype + fmt(" pack_b_block cols %lld kc %lld, wrong at %lld", cols, kc, bad));
    }
}

template <class T>
void check_isa(const char* isa, const char* dtype, const GemmKernels<T>& g,
               const std::vector<std::pair<const char*, convkit::Runner*>>& runners) {
  check_ukernels(isa, dtype, g);
  end_group(std::string(isa) + " " + dtype + " micro-kernel");
  check_panels(isa, dtype, g);
  check_blocks(isa, dtype, g);
  check_full_packing(isa, dtype, g, runners);
  end_group(std::string(isa) + " " + dtype + " packing");
  for (auto [runner_name, runner] : runners) check_macro_kernel(isa, dtype, g, *runner);
  end_group(std::string(isa) + " " + dtype + " macro-kernel");
}

}  // namespace

int main() {
  convkit::SerialRunner serial;
  convkit::ThreadPool three(3);
  const std::vector<std::pair<const char*, convkit::Runner*>> runners = {{"serial", &serial}, {"pool3", &three}};
  for (const std::string& isa : isas_under_test(convkit::supported_isas())) {
    const convkit_test::GemmKernelSet* set = isa == "avx512" ? convkit_test::gemm_kernels_avx512()
                                             : isa == "avx2" ? convkit_test::gemm_kernels_avx2()
                                                             : convkit_test::gemm_kernels_generic();
    if (!set || set->isa != isa) {
      check(false, "no GEMM kernels built for supported ISA " + isa);
      end_group(isa);
      continue;
    }
    check_isa(set->isa, "f32", set->f32, runners);
    check_isa(set->isa, "f64", set->f64, runners);
  }
  return finish("test_gemm");
}
