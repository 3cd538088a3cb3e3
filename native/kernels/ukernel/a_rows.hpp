// How a GEMM micro-kernel finds its rows of A. Plain data, the same for every ISA.
#pragma once

#include <cstdint>

namespace convkit {

// One stretch of the GEMM's k steps in a micro-kernel's A rows: steps t = 0 .. length-1 read
// element offset + t of every row.
struct KRun {
  int64_t offset, length;
};

// Where a micro-kernel reads its MR rows of A: row i at a + i*lda, its k steps the runs in
// order. A packed panel is one run with lda = KC; rows read in place from a padded input band
// (the NHWC forward) have the stride between neighbouring pixels' windows and one run per
// window row.
template <class T>
struct ARows {
  const T* a;
  int64_t lda;
  const KRun* runs;
  int nruns;
};

}  // namespace convkit
