// Convolution forward and backward as GEMMs over im2col tiles (see gemm/blocking.hpp for the packed
// formats). Each layout uses the im2col natural to it:
// - NHWC: rows are output pixels (n, oh, ow), columns kidx = (kh*KW + kw)*Cg + ci, so a window
//   position reads Cg contiguous channels; weights HWIO are the [K x Cout] matrix as stored.
// - NCHW: rows kidx = (ci*KH + kh)*KW + kw, columns the output pixels of one image, so a row
//   reads along an input row; weights OIHW are the [Cout x K] matrix as stored.
// im2col is produced tile by tile straight into GEMM panels (or into one bounded per-thread
// tile for the weight gradient), never for a whole batch; the NHWC forward mostly skips it and
// reads the micro-kernel's rows from a padded copy of the input rows (see NhwcBand).

// For `len` consecutive outputs whose first input column is iw0 (then every `stride`), the
// index range [lo, hi) of those that fall inside [0, width).
inline void valid_run(int64_t iw0, int64_t stride, int64_t len, int64_t width, int64_t& lo, int64_t& hi) {
  lo = iw0 >= 0 ? 0 : std::min(len, ceil_div(-iw0, stride));
  hi = iw0 >= width ? 0 : std::min(len, ceil_div(width - iw0, stride));
  if (hi < lo) hi = lo;
}

// Walks output pixels p0, p0+1, ... as (n, oh, ow) without dividing per pixel.
struct PixelCursor {
  int64_t n, oh, ow;
  const ConvShape& s;
  PixelCursor(const ConvShape& shape, int64_t p) : s(shape) {
    const int64_t ohw = s.oh * s.ow;
    n = p / ohw;
    oh = p % ohw / s.ow;
    ow = p % s.ow;
  }
  void next() {
    if (++ow == s.ow) {
      ow = 0;
      if (++oh == s.oh) oh = 0, ++n;
    }
  }
};

// NHWC im2col: dest[(k-k0)*ld_k + i*ld_i] = x(pixel p0+i, kidx k) for i < rows, k0 <= k < k0+kc.
template <class T>
void im2col_nhwc(T* dest, int64_t ld_k, int64_t ld_i, const T* x, const ConvShape& s, int64_t g, int64_t p0,
                 int64_t rows, int64_t k0, int64_t kc) {
  const int64_t cg = s.cin_per_group();
  const int64_t window0 = k0 / cg, ci0 = k0 % cg, kh0 = window0 / s.kw, kw0 = window0 % s.kw;
  // When the block holds whole windows and a window row is contiguous in x, a window inside the
  // image is KH runs of KW*C elements: the fast path for small-channel layers (the stem's K is
  // 7*7*3 = 147 in 7 runs of 21).
  const bool whole_windows =
      ld_k == 1 && k0 == 0 && kc == s.kh * s.kw * cg && s.dilation_w == 1 && cg == s.c;
  const int64_t window_row = s.kw * s.c, window_height = (s.kh - 1) * s.dilation_h + 1;
  PixelCursor px(s, p0);
  for (int64_t i = 0; i < rows; ++i, px.next()) {
    const int64_t ih0 = px.oh * s.stride_h - s.pad_top, iw0 = px.ow * s.stride_w - s.pad_left;
    const T* image = x + px.n * s.h * s.w * s.c + g * cg;
    if (whole_windows && ih0 >= 0 && ih0 + window_height <= s.h && iw0 >= 0 && iw0 + s.kw <= s.w) {
      const T* src = image + (ih0 * s.w + iw0) * s.c;
      T* d = dest + i * ld_i;
      for (int64_t kh = 0; kh < s.kh; ++kh)
        copy_run(d + kh * window_row, src + kh * s.dilation_h * s.w * s.c, window_row);
      continue;
    }
    int64_t ci = ci0, kh = kh0, kw = kw0;
    for (int64_t k = k0; k < k0 + kc;) {
      const int64_t ih = ih0 + kh * s.dilation_h, iw = iw0 + kw * s.dilation_w;
      const bool row_inside = ih >= 0 && ih < s.h;
      // Without dilation or groups, the rest of a window row is one contiguous run (as long
      // as it stays inside the image): copy it as one segment instead of Cg-sized pieces.
      int64_t columns = 1;
      if (s.dilation_w == 1 && cg == s.c && row_inside && iw >= 0) columns = std::max<int64_t>(1, std::min(s.kw - kw, s.w - iw));
      const int64_t len = std::min(columns * cg - ci, k0 + kc - k);
      T* d = dest + (k - k0) * ld_k + i * ld_i;
      if (row_inside && iw >= 0 && iw < s.w) {
        const T* src = image + (ih * s.w + iw) * s.c + ci;
        if (ld_k == 1)
          copy_run(d, src, len);
        else
          for (int64_t t = 0; t < len; ++t) d[t * ld_k] = src[t];
      } else {
        for (int64_t t = 0; t < len; ++t) d[t * ld_k] = T(0);
      }
      k += len;
      ci += len;
      if (ci >= cg) {
        kw += ci / cg;
        ci %= cg;
        if (kw >= s.kw) kw -= s.kw, ++kh;
      }
    }
  }
}

// The im2col columns k0 .. k0+kc-1 of pixels p0 .. p0+rows-1 as GEMM B panels (NR columns
// each, row i of a panel at i*NR), as pack_b_block would lay out the im2col tile. Needs Cg, k0
// and kc to be multiples of NR, so that each panel is NR channels of one tap; it is filled pixel
// by pixel, one panel at a time (the panels lie NR*rows elements apart, so writing them all per
// pixel thrashes L1's sets).
template <class T>
void im2col_nhwc_b_panels(T* dest, const T* x, const ConvShape& s, int64_t g, int64_t p0, int64_t rows, int64_t k0,
                          int64_t kc) {
  constexpr int NR = Blocking<T>::NR;
  const int64_t cg = s.cin_per_group();
  for (int64_t j = 0; j < kc; j += NR) {
    const int64_t tap = (k0 + j) / cg, ci = (k0 + j) % cg;
    const int64_t dh = tap / s.kw * s.dilation_h - s.pad_top, dw = tap % s.kw * s.dilation_w - s.pad_left;
    T* d = dest + j * rows;
    PixelCursor px(s, p0);
    for (int64_t i = 0; i < rows; ++i, px.next(), d += NR) {
      const int64_t ih = px.oh * s.stride_h + dh, iw = px.ow * s.stride_w + dw;
      if (ih >= 0 && ih < s.h && iw >= 0 && iw < s.w)
        std::memcpy(d, x + ((px.n * s.h + ih) * s.w + iw) * s.c + g * cg + ci, sizeof(T) * NR);
      else
        std::memset(d, 0, sizeof(T) * NR);
    }
  }
}

// Visits the output pixels p0 .. p0+cols-1 of one image as runs along an output row:
// visit(j, oh, ow, len) for the run starting at column offset j.
template <class F>
void for_each_row_run(const ConvShape& s, int64_t p0, int64_t cols, F&& visit) {
  int64_t oh = p0 / s.ow, ow = p0 % s.ow;
  for (int64_t j = 0; j < cols; ++oh, ow = 0) {
    const int64_t len = std::min(s.ow - ow, cols - j);
    visit(j, oh, ow, len);
    j += len;
  }
}

// NCHW im2col of one image and group (xg points at its first channel), written as panels of
// `width` columns placed `stride` elements apart: x(kidx k, pixel p0+j) goes to
// dest[(j / width) * stride + (k - k0) * width + j % width] for j < cols, and the last panel's
// columns past `cols` are zero. GEMM B panels use width NR and stride NR*kc; a plain
// [kc x width] tile is one panel.
template <class T>
void im2col_nchw(T* dest, int64_t width, int64_t stride, const T* xg, const ConvShape& s, int64_t k0, int64_t kc,
                 int64_t p0, int64_t cols) {
  const int64_t khw = s.kh * s.kw;
  // Narrow outputs make row runs too short to pay for themselves: gather per element from
  // precomputed window origins instead.
  constexpr int64_t kNarrowOutput = 16, kChunk = 64;
  // The gather's lane indices (int32 for float) must hold every index of an input plane.
  if (s.ow < kNarrowOutput && s.h * s.w <= std::numeric_limits<LaneIndex<T>>::max()) {
    // Chunks end at panel boundaries, so a chunk's columns are contiguous in dest.
    int64_t ih_origin[kChunk], iw_origin[kChunk];
    LaneIndex<T> index[kChunk], inside[kChunk];
    for (int64_t j0 = 0; j0 < cols;) {
      const int64_t jn = std::min({kChunk, cols - j0, width - j0 % width});
      const int64_t base = j0 / width * stride + j0 % width;
      for_each_row_run(s, p0 + j0, jn, [&](int64_t j, int64_t oh, int64_t ow, int64_t len) {
        for (int64_t t = 0; t < len; ++t) {
          ih_origin[j + t] = oh * s.stride_h - s.pad_top;
          iw_origin[j + t] = (ow + t) * s.stride_w - s.pad_left;
        }
      });
      // Rows k = ci*KH*KW + tap share their window geometry across channels: compute each
      // tap's input indices once (0 with inside = 0 in the padding, so that every load is in
      // bounds and the gather has no branch), then gather every channel's row.
      for (int64_t tap = 0; tap < khw; ++tap) {
        const int64_t ci_begin = std::max<int64_t>(0, ceil_div(k0 - tap, khw));
        const int64_t ci_end = k0 + kc - 1 - tap < 0 ? 0 : (k0 + kc - 1 - tap) / khw + 1;
        if (ci_begin >= ci_end) continue;
        const int64_t dh = tap / s.kw * s.dilation_h, dw = tap % s.kw * s.dilation_w;
        for (int64_t j = 0; j < jn; ++j) {
          const int64_t ih = ih_origin[j] + dh, iw = iw_origin[j] + dw;
          const bool valid = uint64_t(ih) < uint64_t(s.h) && uint64_t(iw) < uint64_t(s.w);
          index[j] = LaneIndex<T>(valid ? ih * s.w + iw : 0);
          inside[j] = valid;
        }
        for (int64_t ci = ci_begin; ci < ci_end; ++ci) {
          const T* plane = xg + ci * s.h * s.w;
          gather_row(dest + (ci * khw + tap - k0) * width + base, plane, index, inside, jn);
        }
      }
      j0 += jn;
    }
  } else {
    int64_t ci = k0 / khw, kh = k0 % khw / s.kw, kw = k0 % s.kw;
    for (int64_t k = k0; k < k0 + kc; ++k) {
      const T* plane = xg + ci * s.h * s.w;
      T* d = dest + (k - k0) * width;
      for_each_row_run(s, p0, cols, [&](int64_t j, int64_t oh, int64_t ow, int64_t len) {
        const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
        const int64_t iw0 = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
        int64_t lo = 0, hi = 0;
        if (ih >= 0 && ih < s.h) valid_run(iw0, s.stride_w, len, s.w, lo, hi);
        const T* row = plane + ih * s.w;  // only read for t in [lo, hi), where ih is valid
        // Copy the run in pieces that end at panel boundaries.
        for (int64_t t = 0; t < len;) {
          const int64_t col = j + t, in_panel = col % width;
          const int64_t piece = std::min(len - t, width - in_panel);
          T* out = d + col / width * stride + in_panel - t;  // indexed by t
          const int64_t copy_begin = std::max(t, lo), copy_end = std::max(copy_begin, std::min(t + piece, hi));
          for (int64_t u = t; u < copy_begin; ++u) out[u] = T(0);
          if (s.stride_w == 1) {
            const T* src = row + iw0;
            for (int64_t u = copy_begin; u < copy_end; ++u) out[u] = src[u];
          } else {
            for (int64_t u = copy_begin; u < copy_end; ++u) out[u] = row[iw0 + u * s.stride_w];
          }
          for (int64_t u = copy_end; u < t + piece; ++u) out[u] = T(0);
          t += piece;
        }
      });
      if (++kw == s.kw) {
        kw = 0;
        if (++kh == s.kh) kh = 0, ++ci;
      }
    }
  }
  const int64_t tail = round_up(cols, width) - cols;
  if (tail > 0) {
    T* last = dest + cols / width * stride + cols % width;
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t j = 0; j < tail; ++j) last[k * width + j] = T(0);
  }
}

// NHWC col2im: adds dcol[i*K + kidx] (rows = pixels p0+i) into dx.
template <class T>
void col2im_nhwc(T* dx, const T* dcol, const ConvShape& s, int64_t g, int64_t p0, int64_t rows) {
  const int64_t cg = s.cin_per_group(), K = s.kh * s.kw * cg;
  PixelCursor px(s, p0);
  for (int64_t i = 0; i < rows; ++i, px.next()) {
    const int64_t ih0 = px.oh * s.stride_h - s.pad_top, iw0 = px.ow * s.stride_w - s.pad_left;
    T* image = dx + px.n * s.h * s.w * s.c + g * cg;
    const T* src = dcol + i * K;
    for (int64_t kh = 0; kh < s.kh; ++kh) {
      const int64_t ih = ih0 + kh * s.dilation_h;
      if (ih < 0 || ih >= s.h) continue;
      for (int64_t kw = 0; kw < s.kw; ++kw) {
        const int64_t iw = iw0 + kw * s.dilation_w;
        if (iw < 0 || iw >= s.w) continue;
        T* dst = image + (ih * s.w + iw) * s.c;
        const T* from = src + (kh * s.kw + kw) * cg;
        for (int64_t ci = 0; ci < cg; ++ci) dst[ci] += from[ci];
      }
    }
  }
}

// NCHW col2im of one image and group: adds dcol[kidx*ld + j] (columns = pixels p0+j) into dxg.
template <class T>
void col2im_nchw(T* dxg, const T* dcol, int64_t ld, const ConvShape& s, int64_t p0, int64_t cols) {
  const int64_t K = s.cin_per_group() * s.kh * s.kw;
  int64_t ci = 0, kh = 0, kw = 0;
  for (int64_t k = 0; k < K; ++k) {
    T* plane = dxg + ci * s.h * s.w;
    const T* src = dcol + k * ld;
    for_each_row_run(s, p0, cols, [&](int64_t j, int64_t oh, int64_t ow, int64_t len) {
      const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
      if (ih < 0 || ih >= s.h) return;
      const int64_t iw0 = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
      int64_t lo = 0, hi = 0;
      valid_run(iw0, s.stride_w, len, s.w, lo, hi);
      if (hi <= lo) return;
      T* first = plane + ih * s.w + iw0 + lo * s.stride_w;
      const T* from = src + j + lo;
      for (int64_t t = 0; t < hi - lo; ++t) first[t * s.stride_w] += from[t];
    });
    if (++kw == s.kw) {
      kw = 0;
      if (++kh == s.kh) kh = 0, ++ci;
    }
  }
}

inline bool is_pointwise(const ConvShape& s) {
  return s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
         s.pad_bottom == 0 && s.pad_right == 0;
}

// ---------------------------------------------------------------- forward

// The GEMM forward's weights, packed for every group: NHWC's HWIO is the [K x Coutg] B matrix
// (B panels), NCHW's OIHW the [Coutg x K] A matrix (A panels). The layout depends only on the
// weights' shape, groups and layout (and the ISA's tile), so a caller may pack once and pass the
// result to many forwards.
template <class T>
int64_t gemm_forward_weights_size(const ConvShape& s) {
  const int64_t K = s.kh * s.kw * s.cin_per_group(), coutg = s.cout_per_group();
  return checked_elements({s.groups, s.layout == Layout::NHWC ? packed_b_size<T>(K, coutg) : packed_a_size<T>(coutg, K)});
}

template <class T>
void pack_gemm_forward_weights(const ConvShape& s, const T* w, T* packed, Runner& r) {
  const int64_t K = s.kh * s.kw * s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t group_size = gemm_forward_weights_size<T>(s) / s.groups;
  for (int64_t g = 0; g < s.groups; ++g) {
    if (s.layout == Layout::NHWC)
      pack_b_full(packed + g * group_size, w + g * coutg, s.cout, 1, K, coutg, r);
    else
      pack_a_full(packed + g * group_size, w + g * coutg * K, K, 1, coutg, K, r);
  }
}

// The packed weights given by the caller, or packed now into scratch.
template <class T>
const T* packed_forward_weights(const ConvShape& s, const T* w, const T* prepacked, Runner& r) {
  if (prepacked) return prepacked;
  T* packed = scratch_of<T>(r, r.num_threads(), kPackedWeights, gemm_forward_weights_size<T>(s));
  pack_gemm_forward_weights(s, w, packed, r);
  return packed;
}

// NHWC forward without an im2col copy. A task (a band of output rows of one image) first copies
// the input rows its windows cover into a zero-padded band (columns from iw = -pad_left to the
// last window's end): about (R-1)*stride + KH input rows for R output rows, instead of KH*KW
// copies of each input element. Within one output row, pixel p+1's window starts
// stride_w*C elements after pixel p's, and a window row of KW taps is one contiguous run of
// KW*C channels (without dilation or groups), so MR pixels of one output row are the micro-
// kernel's A rows read in place: lda = stride_w*C, one run per kernel row. Panels that straddle
// output rows or are short are copied out of the band into packed panels. (Reading unpadded
// layers' rows from x in place instead measured 5% slower on the 1x1 layer: the copy streams x
// into L2 once, where in-place reads stall the micro-kernel on the first B panel's pass.)
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
void fill_nhwc_band(T* band, const T* x, const ConvShape& s, const NhwcBand& geo, int64_t n, int64_t oh0, int64_t rows) {
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

// The NHWC forward through im2col tiles packed as A blocks, for layers whose input band would be
// mostly padding or dilation gaps (see NhwcBand::fits): one MC x KC tile per thread, whatever
// the padding and dilation.
template <class T>
void conv2d_forward_nhwc_im2col(const ConvShape& s, const T* x, const T* packed_w, const T* b, T* y, Runner& r) {
  constexpr int MR = Blocking<T>::MR;
  const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = s.kh * s.kw * cg, np = round_up(coutg, Blocking<T>::NR), M = s.n * s.oh * s.ow;
  parallel_for(r, ceil_div(M, MC), [&](int64_t task, int thread) {
    const int64_t p0 = task * MC, mc = std::min(MC, M - p0);
    T* pa = scratch_of<T>(r, thread, kPackA, {MC, KC});
    for (int64_t g = 0; g < G; ++g)
      for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = std::min(KC, K - k0);
        // Row i of the block at i*KC is row i%MR of panel i/MR: the packed A format.
        im2col_nhwc(pa, 1, KC, x, s, g, p0, mc, k0, kc);
        if (mc % MR != 0) zero_a_rows(pa + mc / MR * MR * KC, int(mc % MR), kc);
        macro_kernel(mc, coutg, kc, pa, packed_w + g * K * np + k0 * np, y + p0 * s.cout + g * coutg, s.cout, k0 > 0,
                     static_cast<const T*>(nullptr), b ? b + g * coutg : nullptr);
      }
  });
}

template <class T>
void conv2d_forward_nhwc(const ConvShape& s, const T* x, const T* packed_w, const T* b, T* y, Runner& r) {
  constexpr int MR = Blocking<T>::MR;
  const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = s.kh * s.kw * cg, np = round_up(coutg, Blocking<T>::NR);
  const NhwcBand geo(s, MC, r.num_threads());
  if (!geo.fits) {
    conv2d_forward_nhwc_im2col(s, x, packed_w, b, y, r);
    return;
  }
  const int64_t max_pixels = geo.rows_per_task * s.ow, max_panels = ceil_div(max_pixels, MR);
  const int64_t max_runs = std::min(KC, s.kh * s.kw) + 1;
  // A task's packed panels: at most one per output row boundary plus a short last one.
  const int64_t max_packed = std::min(max_panels, geo.rows_per_task + 1);

  parallel_for(r, s.n * geo.bands, [&](int64_t task, int thread) {
    const int64_t n = task / geo.bands, oh0 = task % geo.bands * geo.rows_per_task;
    const int64_t rows = std::min(geo.rows_per_task, s.oh - oh0), pixels = rows * s.ow;
    T* band = scratch_of<T>(r, thread, kBand, geo.elements);
    T* pa = scratch_of<T>(r, thread, kPackA, {max_packed, MR, KC});
    KRun* runs = static_cast<KRun*>(r.scratch(thread, kRuns, checked_bytes(max_runs, sizeof(KRun)) +
                                                                   checked_bytes(max_panels, sizeof(ARows<T>))));
    ARows<T>* panels = reinterpret_cast<ARows<T>*>(runs + max_runs);
    fill_nhwc_band(band, x, s, geo, n, oh0, rows);
    const int64_t lda = s.stride_w * s.c;
    auto window = [&](int64_t p) {  // window origin of the task's pixel p in the band
      return band + (p / s.ow) * s.stride_h * geo.pitch + (p % s.ow) * s.stride_w * s.c;
    };
    T* y_task = y + (n * s.oh + oh0) * s.ow * s.cout;
    for (int64_t g = 0; g < G; ++g) {
      for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = std::min(KC, K - k0);
        const int nruns = nhwc_band_runs(s, geo.pitch, k0, kc, runs);
        const KRun whole{0, kc};
        T* packed = pa;
        for (int64_t p0 = 0; p0 < pixels; p0 += MR) {
          const int64_t mr = std::min<int64_t>(MR, pixels - p0);
          ARows<T>& view = panels[p0 / MR];
          if (mr == MR && p0 % s.ow + MR <= s.ow) {
            view = ARows<T>{window(p0) + g * cg, lda, runs, nruns};
            continue;
          }
          zero_a_rows(packed, int(mr), kc);
          for (int64_t i = 0; i < mr; ++i) {
            const T* src = window(p0 + i) + g * cg;
            T* d = packed + i * KC;
            for (int q = 0; q < nruns; ++q) {
              copy_run(d, src + runs[q].offset, runs[q].length);
              d += runs[q].length;
            }
          }
          view = ARows<T>{packed, KC, &whole, 1};
          packed += MR * KC;
        }
        macro_kernel_rows(pixels, coutg, kc, [&](int64_t i) { return panels[i / MR]; },
                          packed_w + g * K * np + k0 * np, y_task + g * coutg, s.cout, k0 > 0,
                          static_cast<const T*>(nullptr), b ? b + g * coutg : nullptr);
      }
    }
  });
}

template <class T>
void conv2d_forward_nchw(const ConvShape& s, const T* x, const T* packed_w, const T* b, T* y, Runner& r) {
  constexpr int NR = Blocking<T>::NR;
  const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC, NC = Blocking<T>::NC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = cg * s.kh * s.kw, P = s.oh * s.ow, mp = round_up(coutg, Blocking<T>::MR);
  const bool pointwise = is_pointwise(s);
  const int64_t group_size = packed_a_size<T>(coutg, K);

  const int64_t block = task_rows(P, s.n, NC, NR, r.num_threads()), pblocks = ceil_div(P, block);
  parallel_for(r, s.n * pblocks, [&](int64_t task, int thread) {
    const int64_t n = task / pblocks, p0 = task % pblocks * block, nc = std::min(block, P - p0);
    T* pb = scratch_of<T>(r, thread, kPackB, {KC, NC});
    for (int64_t g = 0; g < G; ++g) {
      const T* xg = x + (n * s.c + g * cg) * s.h * s.w;
      T* yg = y + (n * s.cout + g * coutg) * P + p0;
      for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = std::min(KC, K - k0);
        if (pointwise)
          pack_b_block(pb, xg + k0 * P + p0, P, 1, nc, kc);
        else
          im2col_nchw(pb, NR, NR * kc, xg, s, k0, kc, p0, nc);
        for (int64_t ic = 0; ic < coutg; ic += MC)
          macro_kernel(std::min(MC, coutg - ic), nc, kc, packed_w + g * group_size + k0 * mp + ic * kc, pb, yg + ic * P, P,
                       k0 > 0, b ? b + g * coutg + ic : nullptr, static_cast<const T*>(nullptr), kc);
      }
    }
  });
}

// ---------------------------------------------------------------- backward input

// dx = col2im(dcol) with dcol = dY * W^T per tile. Tiles are bands of output rows of one image;
// a band of `band_rows` rows touches input rows that the next-but-one band never touches, so
// all even bands run in parallel, then all odd bands: no races, and every dx element receives
// its contributions in the same order whatever the thread count.
inline int64_t col2im_band_rows(const ConvShape& s) { return (s.kh - 1) * s.dilation_h / s.stride_h + 1; }

template <class F>
void for_each_band_two_phase(Runner& r, const ConvShape& s, F&& band_fn) {
  const int64_t rows = col2im_band_rows(s), bands = ceil_div(s.oh, rows);
  for (int64_t phase = 0; phase < 2; ++phase) {
    const int64_t per_image = (bands - phase + 1) / 2;
    if (per_image <= 0) continue;
    parallel_for(r, s.n * per_image, [&](int64_t task, int thread) {
      const int64_t n = task / per_image, band = phase + 2 * (task % per_image);
      band_fn(n, band * rows, std::min(s.oh, (band + 1) * rows), thread);
    });
  }
}

template <class T>
void zero_fill(T* data, int64_t count, Runner& r) {
  const int64_t chunk = 1 << 16, chunks = ceil_div(count, chunk);
  parallel_for(r, chunks, [&](int64_t task, int) {
    const int64_t begin = task * chunk;
    std::memset(data + begin, 0, sizeof(T) * size_t(std::min(chunk, count - begin)));
  });
}

template <class T>
void conv2d_backward_input_nhwc(const ConvShape& s, const T* dy, const T* w, T* dx, Runner& r) {
  const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = s.kh * s.kw * cg, np = round_up(K, Blocking<T>::NR);

  // W^T per group: [Coutg x K] with element (co, kidx) at w[kidx*Cout + g*Coutg + co].
  T* packed_wt = scratch_of<T>(r, r.num_threads(), kPackedWeights, {G, packed_b_size<T>(coutg, K)});
  for (int64_t g = 0; g < G; ++g) pack_b_full(packed_wt + g * coutg * np, w + g * coutg, 1, s.cout, coutg, K, r);
  zero_fill(dx, s.x_size(), r);
  // A tile holds at most one band's pixels: a few rows for a wide kernel (large K) and a small output.
  const int64_t tile_rows = std::min(MC, saturating_product({std::min(col2im_band_rows(s), s.oh), s.ow}));

  for_each_band_two_phase(r, s, [&](int64_t n, int64_t oh_begin, int64_t oh_end, int thread) {
    T* dcol = scratch_of<T>(r, thread, kTile, {tile_rows, K});
    T* pa = scratch_of<T>(r, thread, kPackA, {MC, KC});
    const int64_t p_end = (n * s.oh + oh_end) * s.ow;
    for (int64_t t0 = (n * s.oh + oh_begin) * s.ow; t0 < p_end; t0 += MC) {
      const int64_t tp = std::min(MC, p_end - t0);
      for (int64_t g = 0; g < G; ++g) {
        for (int64_t k0 = 0; k0 < coutg; k0 += KC) {
          const int64_t kc = std::min(KC, coutg - k0);
          pack_a_block(pa, dy + t0 * s.cout + g * coutg + k0, s.cout, 1, tp, kc);
          macro_kernel(tp, K, kc, pa, packed_wt + g * coutg * np + k0 * np, dcol, K, k0 > 0,
                       static_cast<const T*>(nullptr), static_cast<const T*>(nullptr));
        }
        col2im_nhwc(dx, dcol, s, g, t0, tp);
      }
    }
  });
}

// With stride 1, dx is the forward convolution of dY (padded by dilation*(K-1) - pad) with the
// weights flipped in space and with in and out channels swapped: the banded NHWC forward then
// computes each dx pixel once, with no col2im pass and no zero fill of dx. Applies when that
// padding is not negative on any side.
inline bool backward_input_as_forward(const ConvShape& s) {
  const int64_t reach_h = (s.kh - 1) * s.dilation_h, reach_w = (s.kw - 1) * s.dilation_w;
  return s.layout == Layout::NHWC && s.stride_h == 1 && s.stride_w == 1 && s.pad_top <= reach_h &&
         s.pad_bottom <= reach_h && s.pad_left <= reach_w && s.pad_right <= reach_w;
}

template <class T>
void conv2d_backward_input_nhwc_as_forward(const ConvShape& s, const T* dy, const T* w, T* dx, Runner& r) {
  const int64_t cg = s.cin_per_group(), coutg = s.cout_per_group(), taps = s.kh * s.kw;
  ConvShape t = s;
  t.h = s.oh, t.w = s.ow, t.c = s.cout, t.oh = s.h, t.ow = s.w, t.cout = s.c;
  t.pad_top = (s.kh - 1) * s.dilation_h - s.pad_top, t.pad_bottom = (s.kh - 1) * s.dilation_h - s.pad_bottom;
  t.pad_left = (s.kw - 1) * s.dilation_w - s.pad_left, t.pad_right = (s.kw - 1) * s.dilation_w - s.pad_right;
  // dY padded by nearly the dilated kernel's reach: where that dwarfs dY (huge dilation), the
  // col2im path, whose tiles scale with dY, computes the same dx.
  if (!NhwcBand(t, Blocking<T>::MC, r.num_threads()).fits) {
    conv2d_backward_input_nhwc(s, dy, w, dx, r);
    return;
  }
  // t's HWIO weights: (tap, co, g*Cg + ci) = w(taps-1-tap, ci, g*Coutg + co), w being [taps][Cg][Cout].
  T* flipped = scratch_of<T>(r, r.num_threads(), kTile, s.w_size());
  parallel_for(r, taps, [&](int64_t tap, int) {
    const T* src = w + (taps - 1 - tap) * cg * s.cout;
    T* dst = flipped + tap * coutg * s.c;
    for (int64_t g = 0; g < s.groups; ++g)
      for (int64_t co = 0; co < coutg; ++co)
        for (int64_t ci = 0; ci < cg; ++ci) dst[co * s.c + g * cg + ci] = src[ci * s.cout + g * coutg + co];
  });
  T* packed = scratch_of<T>(r, r.num_threads(), kPackedWeights, gemm_forward_weights_size<T>(t));
  pack_gemm_forward_weights(t, flipped, packed, r);
  conv2d_forward_nhwc(t, dy, packed, static_cast<const T*>(nullptr), dx, r);
}

template <class T>
void conv2d_backward_input_nchw(const ConvShape& s, const T* dy, const T* w, T* dx, Runner& r) {
  const int64_t KC = Blocking<T>::KC, MC = Blocking<T>::MC, NC = Blocking<T>::NC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = cg * s.kh * s.kw, P = s.oh * s.ow, mp = round_up(K, Blocking<T>::MR);

  // W^T per group: [K x Coutg] with element (kidx, co) at w[(g*Coutg + co)*K + kidx].
  T* packed_wt = scratch_of<T>(r, r.num_threads(), kPackedWeights, {G, packed_a_size<T>(K, coutg)});
  const int64_t group_size = packed_a_size<T>(K, coutg);
  for (int64_t g = 0; g < G; ++g) pack_a_full(packed_wt + g * group_size, w + g * coutg * K, 1, K, K, coutg, r);
  zero_fill(dx, s.x_size(), r);
  // A tile holds at most one band's pixels (see conv2d_backward_input_nhwc).
  const int64_t tile_columns = std::min(NC, saturating_product({std::min(col2im_band_rows(s), s.oh), s.ow}));

  for_each_band_two_phase(r, s, [&](int64_t n, int64_t oh_begin, int64_t oh_end, int thread) {
    T* dcol = scratch_of<T>(r, thread, kTile, {K, tile_columns});
    T* pb = scratch_of<T>(r, thread, kPackB, {KC, NC});
    const int64_t p_end = oh_end * s.ow;
    for (int64_t t0 = oh_begin * s.ow; t0 < p_end; t0 += NC) {
      const int64_t tp = std::min(NC, p_end - t0);
      for (int64_t g = 0; g < G; ++g) {
        for (int64_t k0 = 0; k0 < coutg; k0 += KC) {
          const int64_t kc = std::min(KC, coutg - k0);
          pack_b_block(pb, dy + (n * s.cout + g * coutg + k0) * P + t0, P, 1, tp, kc);
          for (int64_t ic = 0; ic < K; ic += MC)
            macro_kernel(std::min(MC, K - ic), tp, kc, packed_wt + g * group_size + k0 * mp + ic * kc, pb,
                         dcol + ic * tp, tp, k0 > 0, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr), kc);
        }
        col2im_nchw(dx + (n * s.c + g * cg) * s.h * s.w, dcol, tp, s, t0, tp);
      }
    }
  });
}

// ---------------------------------------------------------------- backward filter

// Every thread accumulates into its own partial dw (thread 0's is dw itself) and db; the
// partials are then added in thread order, so a given thread count always gives the same bits.
// With `transposed_rows` set, the partials are the transpose of dw ([rows x w_size/rows], dw
// being [w_size/rows x rows]): every thread then has a scratch partial, and reduce() adds them
// into dw through the transpose.
template <class T>
struct Partials {
  Runner& r;
  T* dw;
  T* db;
  int64_t w_size, b_size;
  int64_t transposed_rows = 0;

  T* weights(int thread) {
    return thread == 0 && transposed_rows == 0 ? dw : scratch_of<T>(r, thread, kPartialW, w_size);
  }
  T* bias(int thread) { return thread == 0 ? db : scratch_of<T>(r, thread, kPartialB, b_size); }

  void zero() {
    // One task per thread: with the static split, task t runs on thread t.
    parallel_for(r, r.num_threads(), [&](int64_t, int thread) {
      std::memset(weights(thread), 0, sizeof(T) * size_t(w_size));
      if (db) std::memset(bias(thread), 0, sizeof(T) * size_t(b_size));
    });
  }

  void reduce() {
    const int threads = r.num_threads();
    const T* parts[ThreadLimit];
    for (int t = 0; t < threads; ++t) parts[t] = weights(t);
    if (transposed_rows > 0) {
      // dw[j][i] = sum over threads of part[i][j], in 32x32 tiles so both sides stay in cache.
      constexpr int64_t tile = 32;
      const int64_t rows = transposed_rows, cols = w_size / rows;
      const int64_t row_tiles = ceil_div(rows, tile), col_tiles = ceil_div(cols, tile);
      parallel_for(r, row_tiles * col_tiles, [&](int64_t task, int) {
        const int64_t i0 = task / col_tiles * tile, j0 = task % col_tiles * tile;
        const int64_t i1 = std::min(rows, i0 + tile), j1 = std::min(cols, j0 + tile);
        // Summed along the partials' rows (contiguous, vectorised) into a tile in L1, then
        // written out transposed: strided loads straight from the partials were 10% of the
        // two-thread backward of the 3x3 C256 layer.
        T sums[tile][tile];
        for (int64_t i = i0; i < i1; ++i) {
          T* row = sums[i - i0];
          const T* first = parts[0] + i * cols;
          for (int64_t j = j0; j < j1; ++j) row[j - j0] = first[j];
          for (int t = 1; t < threads; ++t) {
            const T* part = parts[t] + i * cols;
            for (int64_t j = j0; j < j1; ++j) row[j - j0] += part[j];
          }
        }
        for (int64_t j = j0; j < j1; ++j)
          for (int64_t i = i0; i < i1; ++i) dw[j * rows + i] = sums[i - i0][j - j0];
      });
    } else {
      const int64_t chunk = 1 << 14, chunks = ceil_div(w_size, chunk);
      parallel_for(r, threads > 1 ? chunks : 0, [&](int64_t task, int) {
        const int64_t begin = task * chunk, end = std::min(w_size, begin + chunk);
        for (int t = 1; t < threads; ++t)
          for (int64_t e = begin; e < end; ++e) dw[e] += parts[t][e];
      });
    }
    if (db)
      for (int t = 1; t < threads; ++t) {
        const T* part = bias(t);
        for (int64_t e = 0; e < b_size; ++e) db[e] += part[e];
      }
  }

  static constexpr int ThreadLimit = 257;
};

// The weight gradient needs one operand transposed while packing, one scalar store per element:
// either the im2col of x (K x pixels) or dY (Coutg x pixels). NCHW computes dW^T, which
// transposes dY and takes the im2col tile as it is. NHWC transposes whichever is smaller: dY for
// dW^T = dY^T x im2col when Coutg <= K (the 3x3 layers: 9x fewer elements), else the im2col for
// dW = im2col^T x dY (a 1x1 layer with 128 inputs and 512 outputs); dW^T is transposed once, in
// the per-thread reduction.

template <class T>
void conv2d_backward_filter_nhwc(const ConvShape& s, const T* dy, const T* x, T* dw, T* db, Runner& r) {
  constexpr int MR = Blocking<T>::MR, NR = Blocking<T>::NR;
  const int64_t TP = Blocking<T>::KC, MC = Blocking<T>::MC, NC = Blocking<T>::NC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = s.kh * s.kw * cg, M = s.n * s.oh * s.ow;
  const bool transposed = coutg <= K, pointwise = is_pointwise(s);
  // dW^T with whole B panels per tap: the im2col goes straight into the panels, no tile (the
  // 3x3 C256 layer's would be 2.4 MB). NC being a multiple of NR, every block starts on a panel.
  const bool direct_panels = transposed && !pointwise && cg % NR == 0;
  Partials<T> partials{r, dw, db, s.w_size(), s.cout, transposed ? s.cout : 0};
  partials.zero();

  parallel_for(r, ceil_div(M, TP), [&](int64_t task, int thread) {
    const int64_t t0 = task * TP, tp = std::min(TP, M - t0);
    T* dw_part = partials.weights(thread);
    for (int64_t g = 0; g < G; ++g) {
      // The im2col rows of the tile's pixels (tp x K, row stride ld): x itself for 1x1 layers.
      const T* cols = x + t0 * s.c + g * cg;
      int64_t ld = s.c;
      if (!pointwise && !direct_panels) {
        T* tile = scratch_of<T>(r, thread, kTile, {std::min(TP, M), K});
        im2col_nhwc(tile, 1, K, x, s, g, t0, tp, 0, K);
        cols = tile;
        ld = K;
      }
      if (transposed) {
        // dW_g^T [Coutg x K] += dY_g^T [Coutg x tp] * im2col [tp x K]
        T* pa = scratch_of<T>(r, thread, kPackA, {round_up(coutg, MR), TP});
        T* pb = scratch_of<T>(r, thread, kPackB, {TP, NC});
        pack_a_block(pa, dy + t0 * s.cout + g * coutg, 1, s.cout, coutg, tp);
        for (int64_t jc = 0; jc < K; jc += NC) {
          const int64_t nc = std::min(NC, K - jc);
          if (direct_panels)
            im2col_nhwc_b_panels(pb, x, s, g, t0, tp, jc, nc);
          else
            pack_b_block(pb, cols + jc, ld, 1, nc, tp);
          for (int64_t ic = 0; ic < coutg; ic += MC)
            macro_kernel(std::min(MC, coutg - ic), nc, tp, pa + ic * TP, pb, dw_part + (g * coutg + ic) * K + jc, K, true,
                         static_cast<const T*>(nullptr), static_cast<const T*>(nullptr));
        }
      } else {
        // dW_g [K x Coutg] += im2col^T [K x tp] * dY_g [tp x Coutg]
        T* pa = scratch_of<T>(r, thread, kPackA, {MC, TP});
        T* pb = scratch_of<T>(r, thread, kPackB, {TP, round_up(coutg, NR)});
        pack_b_block(pb, dy + t0 * s.cout + g * coutg, s.cout, 1, coutg, tp);
        for (int64_t ic = 0; ic < K; ic += MC) {
          const int64_t mc = std::min(MC, K - ic);
          pack_a_block(pa, cols + ic, 1, ld, mc, tp);
          macro_kernel(mc, coutg, tp, pa, pb, dw_part + ic * s.cout + g * coutg, s.cout, true,
                       static_cast<const T*>(nullptr), static_cast<const T*>(nullptr));
        }
      }
    }
    if (db) {
      T* db_part = partials.bias(thread);
      for (int64_t i = 0; i < tp; ++i) {
        const T* row = dy + (t0 + i) * s.cout;
        for (int64_t co = 0; co < s.cout; ++co) db_part[co] += row[co];
      }
    }
  });
  partials.reduce();
}

// NCHW: dW_g^T [K x Coutg] += im2col [K x tp] * dY_g^T [tp x Coutg]; dW (OIHW) is [Cout x K].
// The im2col tile, rows of TP = KC elements, is already an A block in the packed format (row r
// at r*KC), so it is not copied at all.
template <class T>
void conv2d_backward_filter_nchw(const ConvShape& s, const T* dy, const T* x, T* dw, T* db, Runner& r) {
  constexpr int MR = Blocking<T>::MR;
  const int64_t TP = Blocking<T>::KC, MC = Blocking<T>::MC;
  const int64_t G = s.groups, cg = s.cin_per_group(), coutg = s.cout_per_group();
  const int64_t K = cg * s.kh * s.kw, P = s.oh * s.ow, kp = round_up(K, MR);
  Partials<T> partials{r, dw, db, s.w_size(), s.cout, K};
  partials.zero();

  const int64_t tiles = ceil_div(P, TP);
  parallel_for(r, s.n * tiles, [&](int64_t task, int thread) {
    const int64_t n = task / tiles, t0 = task % tiles * TP, tp = std::min(TP, P - t0);
    T* tile = scratch_of<T>(r, thread, kTile, {kp, TP});
    T* pb = scratch_of<T>(r, thread, kPackB, {TP, round_up(coutg, Blocking<T>::NR)});
    T* dw_part = partials.weights(thread);
    // The last A panel's rows past K (the micro-kernel computes whole panels).
    std::memset(tile + K * TP, 0, sizeof(T) * size_t((kp - K) * TP));
    for (int64_t g = 0; g < G; ++g) {
      im2col_nchw(tile, TP, TP * K, x + (n * s.c + g * cg) * s.h * s.w, s, 0, K, t0, tp);
      pack_b_block(pb, dy + (n * s.cout + g * coutg) * P + t0, 1, P, coutg, tp);
      for (int64_t ic = 0; ic < K; ic += MC)
        macro_kernel(std::min(MC, K - ic), coutg, tp, tile + ic * TP, pb, dw_part + ic * s.cout + g * coutg, s.cout,
                     true, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr));
    }
    if (db) {
      T* db_part = partials.bias(thread);
      for (int64_t co = 0; co < s.cout; ++co) {
        const T* row = dy + (n * s.cout + co) * P + t0;
        T sum = T(0);
        for (int64_t i = 0; i < tp; ++i) sum += row[i];
        db_part[co] += sum;
      }
    }
  });
  partials.reduce();
}

#include "direct.inl"
#include "depthwise.inl"
#include "padding.inl"

// ---------------------------------------------------------------- entry points

inline double conv_multiply_adds(const ConvShape& s) {
  return double(s.n) * double(s.oh * s.ow) * double(s.cout) * double(s.cin_per_group() * s.kh * s.kw);
}

// Packed weights are only used by the im2col + GEMM path, which depthwise layers never take.
template <class T>
int64_t conv2d_packed_weights_size(const ConvShape& s) {
  return is_depthwise(s) ? 0 : gemm_forward_weights_size<T>(s);
}

template <class T>
void conv2d_pack_weights(const ConvShape& s, const T* w, T* packed, Runner& runner) {
  if (conv2d_packed_weights_size<T>(s) == 0) return;
  with_sized_runner(runner, double(s.w_size()), [&](Runner& r) { pack_gemm_forward_weights(s, w, packed, r); });
}

// `packed` (from conv2d_pack_weights, or null) saves the GEMM path its per-call packing.
template <class T>
void conv2d_forward(const ConvShape& s, const T* x, const T* w, const T* packed, const T* b, T* y, Runner& runner) {
  with_sized_runner(runner, conv_multiply_adds(s), [&](Runner& r) {
    if (direct_fits(s) && direct_planes_fit<T>(forward_geometry(s)))
      direct_forward(s, x, w, b, y, r);
    else if (is_depthwise(s))
      depthwise_forward(s, x, w, b, y, r);
    else if (s.layout == Layout::NHWC)
      conv2d_forward_nhwc(s, x, packed_forward_weights(s, w, packed, r), b, y, r);
    else
      conv2d_forward_nchw(s, x, packed_forward_weights(s, w, packed, r), b, y, r);
    forward_padding_exact(s, x, w, b, y, r);
  });
}

template <class T>
void conv2d_backward_input(const ConvShape& s, const T* dy, const T* w, T* dx, Runner& runner) {
  with_sized_runner(runner, conv_multiply_adds(s), [&](Runner& r) {
    if (direct_fits_backward_input(s) && direct_planes_fit<T>(backward_input_geometry(s)))
      direct_backward_input(s, dy, w, dx, r);
    else if (is_depthwise(s))
      depthwise_backward_input(s, dy, w, dx, r);
    else if (backward_input_as_forward(s))
      conv2d_backward_input_nhwc_as_forward(s, dy, w, dx, r);
    else if (s.layout == Layout::NHWC)
      conv2d_backward_input_nhwc(s, dy, w, dx, r);
    else
      conv2d_backward_input_nchw(s, dy, w, dx, r);
    backward_input_padding_exact(s, dy, w, dx, r);
  });
}

template <class T>
void conv2d_backward_filter(const ConvShape& s, const T* dy, const T* x, T* dw, T* db, Runner& runner) {
  with_sized_runner(runner, conv_multiply_adds(s), [&](Runner& r) {
    if (direct_fits(s) && direct_planes_fit<T>(forward_geometry(s)))
      direct_backward_filter(s, dy, x, dw, db, r);
    else if (is_depthwise(s))
      depthwise_backward_filter(s, dy, x, dw, db, r);
    else if (s.layout == Layout::NHWC)
      conv2d_backward_filter_nhwc(s, dy, x, dw, db, r);
    else
      conv2d_backward_filter_nchw(s, dy, x, dw, db, r);
    backward_filter_padding_exact(s, dy, x, dw, r);
  });
}
