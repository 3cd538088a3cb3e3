// The NHWC forward's input band: the input rows a task's windows cover, zero-padded, from which
// the micro-kernel reads its A rows in place.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "checked.hpp"
#include "common.hpp"
#include "gemm/blocking.hpp"
#include "isa/config.hpp"
#include "simd/simd.hpp"
#include "ukernel/a_rows.hpp"
#include "workspace.hpp"

namespace convkit {
namespace CONVKIT_ISA {

// NHWC forward without an im2col copy. A task (a band of output rows of one image) first copies
// the input rows its windows cover into a zero-padded band (columns from iw = -pad_left to the
// last window's end): about (R-1)*stride + KH input rows for R output rows, instead of KH*KW
// copies of each input element. Within one output row, pixel p+1's window starts
// stride_w*C elements after pixel p's, and a window row of KW taps is one contiguous run of
// KW*C channels (without dilation or groups), so MR pixels of one output row are the micro-
// kernel's A rows read in place: lda = stride_w*C, one run per kernel row. Panels that straddle
// output rows or are short are copied out of the band into packed panels. Unpadded layers copy
// too: the copy streams x into L2 once, where reads from x in place stall the micro-kernel (see
// docs/decisions.md).
struct NhwcBand {
  int64_t rows_per_task, bands, width, height;  // width, height: of a full task's band, in pixels
  int64_t pitch;                                // elements from one band row to the next
  int64_t elements;                             // of a full task's band (saturated)
  bool fits;                                    // see below; if not, the band must not be used
  NhwcBand(const ConvShape& s, int64_t max_pixels, int threads) {
    const int64_t max_rows = std::max<int64_t>(1, max_pixels / s.ow);
    const int64_t rows = task_rows(s.oh, s.n, max_rows, 1, threads);
    bands = ceil_div(s.oh, rows);
    rows_per_task = ceil_div(s.oh, bands);  // the same band count with rows spread evenly
    width = (s.ow - 1) * s.stride_w + (s.kw - 1) * s.dilation_w + 1;
    height = (rows_per_task - 1) * s.stride_h + (s.kh - 1) * s.dilation_h + 1;
    pitch = saturating_product({width, s.c});
    elements = saturating_product({height, pitch});
    // The band copies the covered input rows with their padding and dilation gaps: with those
    // far larger than the image (a one-pixel input with dilation 40000 would need a 40001 x
    // 40001 band), it dwarfs both the input it copies and the im2col it replaces, and such
    // layers take conv2d_forward_nhwc_im2col instead.
    const int64_t im2col = saturating_product({rows_per_task, s.ow, s.kh, s.kw, s.cin_per_group()});
    const int64_t image = saturating_product({std::min(height, s.h), s.w, s.c});
    fits = elements <= saturating_sum(saturating_product({4, saturating_sum(im2col, image)}), kSmallWorkspace);
  }
};

// The band of output rows oh0 .. oh0+rows-1 of image n: band(row t, column u) = x(ih, iw) with
// ih = oh0*stride_h - pad_top + t, iw = u - pad_left, or 0 outside the image.
template <class T>
void fill_nhwc_band(T* band, const T* x, const ConvShape& s, const NhwcBand& geo, int64_t n, int64_t oh0,
                    int64_t rows) {
  const int64_t height = (rows - 1) * s.stride_h + (s.kh - 1) * s.dilation_h + 1, row_size = geo.pitch;
  const int64_t lo = std::min(geo.width, s.pad_left), hi = std::min(geo.width, s.pad_left + s.w);
  const T* image = x + n * s.h * s.w * s.c;
  for (int64_t t = 0; t < height; ++t) {
    T* d = band + t * row_size;
    const int64_t ih = oh0 * s.stride_h - s.pad_top + t;
    if (ih < 0 || ih >= s.h || hi <= lo) {
      std::memset(d, 0, sizeof(T) * size_t(row_size));
      continue;
    }
    std::memset(d, 0, sizeof(T) * size_t(lo * s.c));
    copy_run(d + lo * s.c, image + (ih * s.w + lo - s.pad_left) * s.c, (hi - lo) * s.c);
    std::memset(d + hi * s.c, 0, sizeof(T) * size_t((geo.width - hi) * s.c));
  }
}

// The runs of k steps k0 .. k0+kc-1 (kidx = (kh*KW + kw)*Cg + ci) in a band, as offsets from a
// pixel's window origin; neighbouring taps whose channels are contiguous share a run.
inline int nhwc_band_runs(const ConvShape& s, int64_t pitch, int64_t k0, int64_t kc, KRun* runs) {
  const int64_t cg = s.cin_per_group();
  int count = 0;
  for (int64_t k = k0; k < k0 + kc;) {
    const int64_t tap = k / cg, ci = k % cg, kh = tap / s.kw, kw = tap % s.kw;
    const int64_t offset = kh * s.dilation_h * pitch + kw * s.dilation_w * s.c + ci;
    const int64_t length = std::min(cg - ci, k0 + kc - k);
    if (count > 0 && runs[count - 1].offset + runs[count - 1].length == offset)
      runs[count - 1].length += length;
    else
      runs[count++] = KRun{offset, length};
    k += length;
  }
  return count;
}

}  // namespace CONVKIT_ISA
}  // namespace convkit
