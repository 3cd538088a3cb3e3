// Portable register-blocked micro-kernel: an MR x NR tile of C kept in a local array that the
// compiler can keep in (SSE2) registers. Interface shared by every ISA's Ukernel<T>:
//   acc[i][j] = sum over the k steps of A row i (see ARows) times b[k*NR + j] (b: a packed B
//   panel, see gemm.inl, one row per k step in order)
//   accumulate ? C += acc : C = acc + bias_m[i] + bias_n[j]   (either bias may be null)
// for the valid part i < mr, j < nr of the tile; C has row stride ldc. All MR rows of A are
// read, so rows past mr must be readable (packed panels zero them).
template <class T>
struct Ukernel {
  static constexpr int MR = 4;
  static constexpr int NR = 8;
  static constexpr int64_t KC = 512;  // packed A panel row stride and the GEMM's k block

  static void run(const ARows<T>& rows, const T* b, T* c, int64_t ldc, int mr, int nr, bool accumulate,
                  const T* bias_m, const T* bias_n) {
    T acc[MR][NR] = {};
    for (int r = 0; r < rows.nruns; ++r) {
      const T* a = rows.a + rows.runs[r].offset;
      for (int64_t k = 0; k < rows.runs[r].length; ++k, ++a, b += NR)
        for (int i = 0; i < MR; ++i)
          for (int j = 0; j < NR; ++j) acc[i][j] += a[i * rows.lda] * b[j];
    }
    for (int i = 0; i < mr; ++i) {
      T* ci = c + i * ldc;
      if (accumulate) {
        for (int j = 0; j < nr; ++j) ci[j] += acc[i][j];
      } else {
        const T row_bias = bias_m ? bias_m[i] : T(0);
        for (int j = 0; j < nr; ++j) ci[j] = acc[i][j] + row_bias + (bias_n ? bias_n[j] : T(0));
      }
    }
  }
};
