// GEMM building blocks shared by the convolution drivers: panel packing and the macro-kernel.
//
// C[M x N] (row-major, row stride ldc) = A[M x K] * B[K x N], blocked BLIS-style:
// - A is packed into panels of MR rows of stride KC: element (i, k) of a panel at a[i*KC + k];
//   rows past M are zero. A block of mc rows is ceil(mc/MR) consecutive panels of MR*KC
//   elements. The micro-kernel takes its A rows as an ARows view, so a caller whose rows
//   already lie in memory at a fixed stride (the NHWC forward's input bands) skips the packing.
// - B is packed into panels of NR columns: element (k, j) at b[k*NR + j]; columns past N are
//   zero. A block of nc columns is ceil(nc/NR) panels of kc*NR elements.
// The micro-kernel keeps an MR x NR tile of C in registers; the macro-kernel walks the B panels
// (each stays in L1 while every A panel of the block, resident in L2, streams past it).

template <class T>
struct Blocking {
  static constexpr int MR = Ukernel<T>::MR;
  static constexpr int NR = Ukernel<T>::NR;
  // One B panel (KC*NR elements) fills about 32 KiB, inside L1 with room for the A stream;
  // an A block (MC*KC) and a B block (KC*NC) fit together in a 1-2 MiB L2.
  static constexpr int64_t KC = Ukernel<T>::KC;
  static constexpr int64_t MC = MR * 12;
  static constexpr int64_t NC = NR * 12;
};

inline int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
inline int64_t ceil_div(int64_t v, int64_t m) { return (v + m - 1) / m; }

// Rows per task when `rows` rows (in each of `groups` independent groups) are cut into blocks of
// at most `max_rows`, in whole `unit`s. With many tasks, max_rows. With few (a small batch), the
// pool's static split (each thread a contiguous run of tasks) can leave one thread with much more
// work: there the block, between max_rows and a quarter of it, is the one whose busiest thread
// has the least work (196 pixels on 2 threads: 98 + 98 instead of 168 + 28).
inline int64_t task_rows(int64_t rows, int64_t groups, int64_t max_rows, int64_t unit, int threads) {
  const int64_t units = (rows + unit - 1) / unit, max_units = max_rows / unit;
  if (threads <= 1 || groups * ((units + max_units - 1) / max_units) >= 8 * int64_t(threads)) return max_rows;
  int64_t best = max_units, best_load = INT64_MAX;
  for (int64_t u = max_units; u >= std::max<int64_t>(1, max_units / 4); --u) {
    const int64_t per_group = (units + u - 1) / u, tasks = groups * per_group;
    int64_t load = 0;
    for (int t = 0; t < threads; ++t) {
      int64_t sum = 0;
      for (int64_t k = tasks * t / threads; k < tasks * (t + 1) / threads; ++k)
        sum += std::min(u, units - k % per_group * u);
      load = std::max(load, sum);
    }
    if (load < best_load) best = u, best_load = load;  // ties keep the larger block
  }
  return best * unit;
}

// Workspaces are sized through checked_bytes / checked_elements (checked.hpp): a size that
// would wrap is ERR_TOO_LARGE, never a small buffer that the kernel overruns.
template <class T>
T* scratch_of(Runner& r, int thread, int slot, int64_t elements) {
  return static_cast<T*>(r.scratch(thread, slot, checked_bytes(elements, sizeof(T))));
}

// The same, with the element count given as its factors.
template <class T>
T* scratch_of(Runner& r, int thread, int slot, std::initializer_list<int64_t> factors) {
  return scratch_of<T>(r, thread, slot, checked_elements(factors));
}

// Workspaces up to this many elements are always acceptable: path choices compare a
// workspace with the work it serves, and tiny layers may round up to more than a few times that.
constexpr int64_t kSmallWorkspace = int64_t(1) << 16;

// Scratch slots used below.
enum ScratchSlot {
  kPackedWeights = 0,
  kTile = 1,
  kPackA = 2,
  kPackB = 3,
  kPartialW = 4,
  kPartialB = 5,
  kBand = 6,
  kRuns = 7
};

// Zero rows [rows, MR) of an A panel (the micro-kernel always computes MR rows); its rows lie
// KC elements apart, or `ld` apart in a compactly packed k block (pack_a_full).
template <class T>
void zero_a_rows(T* panel, int rows, int64_t kc, int64_t ld = Blocking<T>::KC) {
  for (int i = rows; i < Blocking<T>::MR; ++i) std::memset(panel + i * ld, 0, sizeof(T) * size_t(kc));
}

// One A panel from a strided matrix: panel(i, k) = src[i*rs + k*cs] for i < rows, 0 beyond;
// row i at dest + i*KC (or i*ld).
template <class T>
void pack_a_panel(T* dest, const T* src, int64_t rs, int64_t cs, int rows, int64_t kc, int64_t ld = Blocking<T>::KC) {
  zero_a_rows(dest, rows, kc, ld);
  if (cs == 1) {
    for (int i = 0; i < rows; ++i) std::memcpy(dest + i * ld, src + i * rs, sizeof(T) * size_t(kc));
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int i = 0; i < rows; ++i) dest[i * ld + k] = src[i * rs + k * cs];
  }
}

// One B panel from a strided matrix: panel(k, j) = src[k*rs + j*cs] for j < cols, 0 beyond.
template <class T>
void pack_b_panel(T* dest, const T* src, int64_t rs, int64_t cs, int cols, int64_t kc) {
  constexpr int NR = Blocking<T>::NR;
  for (int64_t k = 0; k < kc; ++k) {
    T* d = dest + k * NR;
    const T* s = src + k * rs;
    if (cs == 1) {
      for (int j = 0; j < cols; ++j) d[j] = s[j];
    } else {
      for (int j = 0; j < cols; ++j) d[j] = s[j * cs];
    }
    for (int j = cols; j < NR; ++j) d[j] = T(0);
  }
}

// A block of `rows` rows (as consecutive MR panels) from a strided matrix.
template <class T>
void pack_a_block(T* dest, const T* src, int64_t rs, int64_t cs, int64_t rows, int64_t kc) {
  constexpr int MR = Blocking<T>::MR;
  for (int64_t i = 0; i < rows; i += MR)
    pack_a_panel(dest + i * Blocking<T>::KC, src + i * rs, rs, cs, int(std::min<int64_t>(MR, rows - i)), kc);
}

// A block of `cols` columns (as consecutive NR panels) from a strided matrix.
template <class T>
void pack_b_block(T* dest, const T* src, int64_t rs, int64_t cs, int64_t cols, int64_t kc) {
  constexpr int NR = Blocking<T>::NR;
  for (int64_t j = 0; j < cols; j += NR)
    pack_b_panel(dest + j * kc, src + j * cs, rs, cs, int(std::min<int64_t>(NR, cols - j)), kc);
}

// C[mc x nc] (+)= A * packed B block, where a_rows(i) is the micro-kernel's view (ARows) of
// rows i .. i+MR-1 of A. Bias (first k block only): bias_m[i] per row and/or bias_n[j] per column.
template <class T, class ARowsOf>
void macro_kernel_rows(int64_t mc, int64_t nc, int64_t kc, ARowsOf&& a_rows, const T* pb, T* c, int64_t ldc,
                       bool accumulate, const T* bias_m, const T* bias_n) {
  constexpr int MR = Blocking<T>::MR;
  constexpr int NR = Blocking<T>::NR;
  for (int64_t j = 0; j < nc; j += NR) {
    const int nr = int(std::min<int64_t>(NR, nc - j));
    const T* b_panel = pb + j * kc;
    for (int64_t i = 0; i < mc; i += MR) {
      const int mr = int(std::min<int64_t>(MR, mc - i));
      Ukernel<T>::run(a_rows(i), b_panel, c + i * ldc + j, ldc, mr, nr, accumulate, bias_m ? bias_m + i : nullptr,
                      bias_n ? bias_n + j : nullptr);
    }
  }
}

// The same for a packed A block (consecutive MR panels, rows KC apart, or `lda` apart in a
// compactly packed k block).
template <class T>
void macro_kernel(int64_t mc, int64_t nc, int64_t kc, const T* pa, const T* pb, T* c, int64_t ldc, bool accumulate,
                  const T* bias_m, const T* bias_n, int64_t lda = Blocking<T>::KC) {
  const KRun whole{0, kc};
  macro_kernel_rows(
      mc, nc, kc, [&](int64_t i) { return ARows<T>{pa + i * lda, lda, &whole, 1}; }, pb, c, ldc, accumulate, bias_m,
      bias_n);
}

// Packs a whole strided matrix B[K x N] in KC-deep blocks: block kb (rows k0..k0+kc) starts at
// k0 * round_up(N, NR); within it, NR panels as in pack_b_block. Used for weights.
template <class T>
int64_t packed_b_size(int64_t K, int64_t N) {
  return checked_elements({K, round_up(N, Blocking<T>::NR)});
}

// Packs a whole strided matrix A[M x K] in KC-deep blocks, compactly: block kb (columns k0..k0+kc)
// starts at k0 * round_up(M, MR); within it, MR-row panels whose rows lie kc apart (pass kc as
// macro_kernel's lda). Rows of KC would make a short K (a grouped layer's few channels per
// group) cost KC/K times the weights.
template <class T>
int64_t packed_a_size(int64_t M, int64_t K) {
  return checked_elements({K, round_up(M, Blocking<T>::MR)});
}

// Fill `dest` with every KC block of B, in parallel over (k block, panel).
template <class T>
void pack_b_full(T* dest, const T* src, int64_t rs, int64_t cs, int64_t K, int64_t N, Runner& runner) {
  constexpr int NR = Blocking<T>::NR;
  const int64_t KC = Blocking<T>::KC;
  const int64_t kblocks = ceil_div(K, KC), panels = ceil_div(N, NR), np = round_up(N, NR);
  parallel_for(runner, kblocks * panels, [&](int64_t task, int) {
    const int64_t k0 = task / panels * KC, j = task % panels * NR;
    const int64_t kc = std::min(KC, K - k0);
    pack_b_panel(dest + k0 * np + j * kc, src + k0 * rs + j * cs, rs, cs, int(std::min<int64_t>(NR, N - j)), kc);
  });
}

template <class T>
void pack_a_full(T* dest, const T* src, int64_t rs, int64_t cs, int64_t M, int64_t K, Runner& runner) {
  constexpr int MR = Blocking<T>::MR;
  const int64_t KC = Blocking<T>::KC;
  const int64_t kblocks = ceil_div(K, KC), panels = ceil_div(M, MR), mp = round_up(M, MR);
  parallel_for(runner, kblocks * panels, [&](int64_t task, int) {
    const int64_t k0 = task / panels * KC, i = task % panels * MR;
    const int64_t kc = std::min(KC, K - k0);
    pack_a_panel(dest + k0 * mp + i * kc, src + i * rs + k0 * cs, rs, cs, int(std::min<int64_t>(MR, M - i)), kc, kc);
  });
}

// The general entry (used by `linear`): B packed once for all threads, then tasks over
// (MC-row, NC-column) blocks of C so that small-M products still use every thread.
template <class T>
void gemm_on(const GemmShape& s, const T* a, const T* b, const T* bias, T* c, Runner& r) {
  const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC, NC = Blocking<T>::NC;
  const int64_t np = round_up(s.n, Blocking<T>::NR);
  T* packed_b = scratch_of<T>(r, r.num_threads(), kPackedWeights, packed_b_size<T>(s.k, s.n));
  pack_b_full(packed_b, b, s.b_row_stride, s.b_col_stride, s.k, s.n, r);
  const int64_t mblocks = ceil_div(s.m, MC), nblocks = ceil_div(s.n, NC);
  parallel_for(r, mblocks * nblocks, [&](int64_t task, int thread) {
    const int64_t m0 = task / nblocks * MC, n0 = task % nblocks * NC;
    const int64_t mc = std::min(MC, s.m - m0), nc = std::min(NC, s.n - n0);
    T* pa = scratch_of<T>(r, thread, kPackA, {MC, KC});
    for (int64_t k0 = 0; k0 < s.k; k0 += KC) {
      const int64_t kc = std::min(KC, s.k - k0);
      pack_a_block(pa, a + m0 * s.a_row_stride + k0 * s.a_col_stride, s.a_row_stride, s.a_col_stride, mc, kc);
      macro_kernel(mc, nc, kc, pa, packed_b + k0 * np + n0 * kc, c + m0 * s.n + n0, s.n, s.accumulate || k0 > 0,
                   static_cast<const T*>(nullptr), bias ? bias + n0 : nullptr);
    }
  });
}

template <class T>
void gemm(const GemmShape& s, const T* a, const T* b, const T* bias, T* c, Runner& runner) {
  with_sized_runner(runner, double(s.m) * double(s.n) * double(s.k), [&](Runner& r) { gemm_on(s, a, b, bias, c, r); });
}
