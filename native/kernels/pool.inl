// Max and average 2-D pooling, forward and backward, with PyTorch's CPU semantics:
// * max: padding never wins; the window is scanned in row-major order and an element replaces
//   the running maximum when it is greater or NaN (so the first maximum wins ties and a NaN
//   propagates); argmax is the flat index ih * w + iw inside the (n, c) plane.
// * avg: the divisor is the window's area clipped to the padded input (count_include_pad) or
//   its number of real elements.
// Included once per ISA inside `namespace convkit::CONVKIT_ISA` (see kernel_table.hpp).

namespace pool_detail {

// Below this many element operations in total a call runs as one task, inline.
constexpr int64_t kMinParallelWork = int64_t(1) << 15;
// Several tasks per thread keep the pieces small enough to even out uneven units.
constexpr int64_t kTasksPerThread = 4;
// NHWC splits channels into blocks of at least this many elements when there are too few
// rows (or images) to keep every thread busy.
constexpr int64_t kMinChannelBlock = 64;

// Runs fn(first_unit, end_unit, thread) over contiguous ranges covering [0, units).
template <class F>
void for_unit_ranges(Runner& r, int64_t units, int64_t work_per_unit, F&& fn) {
  const int64_t total_work = units * std::max<int64_t>(work_per_unit, 1);
  int64_t tasks = 1;
  if (r.num_threads() > 1 && total_work >= kMinParallelWork)
    tasks = std::min<int64_t>(units, r.num_threads() * kTasksPerThread);
  parallel_for(r, tasks, [&](int64_t task, int thread) {
    const int64_t first = units * task / tasks;
    const int64_t end = units * (task + 1) / tasks;
    if (first < end) fn(first, end, thread);
  });
}

// How many channel blocks to cut c into so that units * blocks reaches a few tasks per thread.
inline int64_t channel_blocks(Runner& r, int64_t units, int64_t c) {
  const int64_t wanted_units = int64_t(r.num_threads()) * kTasksPerThread;
  if (r.num_threads() == 1 || units >= wanted_units) return 1;
  const int64_t by_size = std::max<int64_t>(c / kMinChannelBlock, 1);
  return std::min((wanted_units + units - 1) / units, by_size);
}

// One pooling window along one dimension.
struct Span {
  int64_t begin, end;   // clipped to the real input [0, in)
  int64_t padded_size;  // size clipped to the padded input [-pad, in + pad) only
};

inline Span window_span(int64_t out_index, int64_t stride, int64_t pad, int64_t k, int64_t in) {
  const int64_t start = out_index * stride - pad;
  const int64_t padded_end = std::min(start + k, in + pad);
  return Span{std::max<int64_t>(start, 0), std::min(padded_end, in), padded_end - start};
}

inline int64_t avg_divisor(const PoolShape& s, const Span& rows, const Span& cols) {
  return s.count_include_pad ? rows.padded_size * cols.padded_size
                             : (rows.end - rows.begin) * (cols.end - cols.begin);
}

// Output columns [first, end) whose windows lie entirely inside the input horizontally.
struct InteriorColumns {
  int64_t first, end;
};

inline InteriorColumns interior_columns(const PoolShape& s) {
  const int64_t first = std::min((s.pad_w + s.stride_w - 1) / s.stride_w, s.ow);
  const int64_t last_start = s.w + s.pad_w - s.kw;  // largest ow * stride_w that still fits
  const int64_t end = last_start < 0 ? 0 : std::min(last_start / s.stride_w + 1, s.ow);
  return InteriorColumns{first, std::max(first, end)};
}

// Inner loops run over chunks of outputs that fit in vector registers, so each output's running
// max or sum stays in registers across the window's taps instead of going through memory.
#if defined(__AVX512F__)
constexpr size_t kChunkBytes = 256;  // 4 zmm
#else
constexpr size_t kChunkBytes = 128;  // 4 ymm or 8 xmm
#endif

template <class T>
constexpr int64_t kChunk = int64_t(kChunkBytes / sizeof(T));

// Calls fn(first, width) over [begin, end). Spans of a register or more go in chunks of
// kChunk<T> (compile-time width) and a run-time remainder, for the array code below, which the
// compiler vectorises well. Narrower spans (LeNet's 14-wide rows, 6 channels), for which that
// code compiles to scalar loops, go in power-of-two pieces (14 = 8 + 4 + 2) of compile-time
// width for the explicit-vector code.
template <class T, int64_t Width, class F>
void for_small_pieces(int64_t first, int64_t end, F&& fn) {
  if (first + Width <= end) {
    fn(first, std::integral_constant<int64_t, Width>());
    first += Width;
  }
  if constexpr (Width > 1) {
    if (first < end) for_small_pieces<T, Width / 2>(first, end, fn);
  }
}

template <class T, class F>
void for_register_chunks(int64_t begin, int64_t end, F&& fn) {
  if (end - begin < kLanes<T>) {
    if constexpr (kLanes<T> > 1) for_small_pieces<T, kLanes<T> / 2>(begin, end, fn);
    return;
  }
  int64_t first = begin;
  for (; first + kChunk<T> <= end; first += kChunk<T>) fn(first, std::integral_constant<int64_t, kChunk<T>>());
  if (first < end) fn(first, end - first);
}

// True for the pieces for_small_pieces makes (a width type, so usable on run-time widths too).
template <class T, class Width>
constexpr bool is_small_piece() {
  if constexpr (std::is_same_v<Width, int64_t>)
    return false;
  else
    return Width::value < kLanes<T>;
}

template <class T, int64_t W, bool kWithIndex>
struct MaxLanes {
  Lanes<T, W> best;
  Lanes<LaneIndex<T>, W> index;
  // -inf in every lane as 0 - inf: setting lanes one by one draws a false -Wmaybe-uninitialized.
  MaxLanes(const Lanes<LaneIndex<T>, W>& first_index)
      : best(Lanes<T, W>{} - std::numeric_limits<T>::infinity()), index(first_index) {}
  void update(const Lanes<T, W>& v, const Lanes<LaneIndex<T>, W>& at) {
    const auto take = (v > best) | (v != v);
    best = take ? v : best;
    if constexpr (kWithIndex) index = take ? at : index;
  }
};

template <class T, int64_t W>
Lanes<LaneIndex<T>, W> index_ramp(int64_t first, int64_t step) {
  Lanes<LaneIndex<T>, W> v;
  for (int64_t k = 0; k < W; ++k) v[k] = LaneIndex<T>(first + k * step);
  return v;
}

// ---------------------------------------------------------------------------------------------
// NCHW forward: one output row of one plane at a time. Interior columns are computed with the
// output columns innermost (several windows advance together, each still in row-major window
// order); the few edge columns take the clipped per-window path.

template <class T, bool kWithIndex>
void max_window_nchw(const PoolShape& s, const T* plane, const Span& rows, const Span& cols, T* out,
                     int32_t* out_index) {
  T best = -std::numeric_limits<T>::infinity();
  int64_t best_index = rows.begin * s.w + cols.begin;
  for (int64_t ih = rows.begin; ih < rows.end; ++ih)
    for (int64_t iw = cols.begin; iw < cols.end; ++iw) {
      const T v = plane[ih * s.w + iw];
      if (v > best || std::isnan(v)) {
        best = v;
        best_index = ih * s.w + iw;
      }
    }
  *out = best;
  if constexpr (kWithIndex) *out_index = int32_t(best_index);
}

// Interior output columns [ow0, ow0 + width) of one output row; their windows lie inside the
// input horizontally, and each is still scanned in row-major window order.
template <class T, bool kWithIndex, class Stride, class Width>
void max_columns_nchw(const PoolShape& s, const T* plane, const Span& rows, int64_t ow0, Stride sw, Width width,
                      T* y_out, int32_t* index_out) {
  T best[kChunk<T>];
  int32_t best_index[kChunk<T>];
  const int64_t first_column = ow0 * sw - s.pad_w;  // >= 0 for interior columns
  for (int64_t k = 0; k < width; ++k) {
    best[k] = -std::numeric_limits<T>::infinity();
    best_index[k] = int32_t(rows.begin * s.w + first_column + k * sw);
  }
  for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
    const int64_t row_start = ih * s.w + first_column;
    const T* x_cols = plane + row_start;
    for (int64_t j = 0; j < s.kw; ++j)
      for (int64_t k = 0; k < width; ++k) {
        const T v = x_cols[k * sw + j];
        const bool take = (v > best[k]) | std::isnan(v);
        best[k] = take ? v : best[k];
        if constexpr (kWithIndex) best_index[k] = take ? int32_t(row_start + k * sw + j) : best_index[k];
      }
  }
  for (int64_t k = 0; k < width; ++k) y_out[k] = best[k];
  if constexpr (kWithIndex)
    for (int64_t k = 0; k < width; ++k) index_out[k] = best_index[k];
}

template <class T, class Stride, class Width>
void avg_columns_nchw(const PoolShape& s, const T* plane, const Span& rows, int64_t ow0, Stride sw, Width width,
                      T divisor, T* y_out) {
  T sum[kChunk<T>];
  for (int64_t k = 0; k < width; ++k) sum[k] = T(0);
  const int64_t first_column = ow0 * sw - s.pad_w;
  for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
    const T* x_cols = plane + ih * s.w + first_column;
    for (int64_t j = 0; j < s.kw; ++j)
      for (int64_t k = 0; k < width; ++k) sum[k] += x_cols[k * sw + j];
  }
  for (int64_t k = 0; k < width; ++k) y_out[k] = sum[k] / divisor;
}

template <class T, bool kWithIndex, class Stride, class Width>
void max_lanes_nchw(const PoolShape& s, const T* plane, const Span& rows, int64_t ow0, Stride sw, Width,
                      T* y_out, int32_t* index_out) {
  constexpr int64_t W = Width::value;
  const int64_t first_column = ow0 * sw - s.pad_w;  // >= 0 for interior columns
  MaxLanes<T, W, kWithIndex> acc(index_ramp<T, W>(rows.begin * s.w + first_column, sw));
  for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
    const int64_t row_start = ih * s.w + first_column;
    for (int64_t j = 0; j < s.kw; ++j)
      acc.update(load_strided_lanes<T, W>(plane + row_start + j, sw),
                 kWithIndex ? index_ramp<T, W>(row_start + j, sw) : acc.index);
  }
  store_lanes<T, W>(y_out, acc.best);
  if constexpr (kWithIndex) store_indices<T, W>(index_out, acc.index);
}

template <class T, class Stride, class Width>
void avg_lanes_nchw(const PoolShape& s, const T* plane, const Span& rows, int64_t ow0, Stride sw, Width,
                      T divisor, T* y_out) {
  constexpr int64_t W = Width::value;
  Lanes<T, W> sum = {};
  const int64_t first_column = ow0 * sw - s.pad_w;
  for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
    const T* x_cols = plane + ih * s.w + first_column;
    for (int64_t j = 0; j < s.kw; ++j) sum += load_strided_lanes<T, W>(x_cols + j, sw);
  }
  store_lanes<T, W>(y_out, sum / divisor);
}

template <class T, bool kWithIndex, class Stride>
void max_row_nchw(const PoolShape& s, const T* plane, int64_t oh, Stride sw, T* y_row, int32_t* index_row) {
  const Span rows = window_span(oh, s.stride_h, s.pad_h, s.kh, s.h);
  const InteriorColumns inner = interior_columns(s);
  for_register_chunks<T>(inner.first, inner.end, [&](int64_t ow0, auto width) {
    int32_t* index_out = kWithIndex ? index_row + ow0 : nullptr;
    if constexpr (!is_small_piece<T, decltype(width)>())
      max_columns_nchw<T, kWithIndex>(s, plane, rows, ow0, sw, width, y_row + ow0, index_out);
    else
      max_lanes_nchw<T, kWithIndex>(s, plane, rows, ow0, sw, width, y_row + ow0, index_out);
  });
  auto edge_column = [&](int64_t ow) {
    const Span cols = window_span(ow, s.stride_w, s.pad_w, s.kw, s.w);
    max_window_nchw<T, kWithIndex>(s, plane, rows, cols, &y_row[ow], kWithIndex ? &index_row[ow] : nullptr);
  };
  for (int64_t ow = 0; ow < inner.first; ++ow) edge_column(ow);
  for (int64_t ow = inner.end; ow < s.ow; ++ow) edge_column(ow);
}

template <class T, class Stride>
void avg_row_nchw(const PoolShape& s, const T* plane, int64_t oh, Stride sw, T* y_row) {
  const Span rows = window_span(oh, s.stride_h, s.pad_h, s.kh, s.h);
  const InteriorColumns inner = interior_columns(s);
  if (inner.first < inner.end) {
    // Every interior window spans kw real columns, so they share one divisor.
    const Span cols = window_span(inner.first, s.stride_w, s.pad_w, s.kw, s.w);
    const T divisor = T(avg_divisor(s, rows, cols));
    for_register_chunks<T>(inner.first, inner.end, [&](int64_t ow0, auto width) {
      if constexpr (!is_small_piece<T, decltype(width)>())
        avg_columns_nchw(s, plane, rows, ow0, sw, width, divisor, y_row + ow0);
      else
        avg_lanes_nchw(s, plane, rows, ow0, sw, width, divisor, y_row + ow0);
    });
  }
  auto edge_column = [&](int64_t ow) {
    const Span cols = window_span(ow, s.stride_w, s.pad_w, s.kw, s.w);
    T sum = T(0);
    for (int64_t ih = rows.begin; ih < rows.end; ++ih)
      for (int64_t iw = cols.begin; iw < cols.end; ++iw) sum += plane[ih * s.w + iw];
    y_row[ow] = sum / T(avg_divisor(s, rows, cols));
  };
  for (int64_t ow = 0; ow < inner.first; ++ow) edge_column(ow);
  for (int64_t ow = inner.end; ow < s.ow; ++ow) edge_column(ow);
}

template <class T>
void forward_nchw(const PoolShape& s, const T* x, T* y, int32_t* argmax, Runner& r) {
  const int64_t plane_in = s.h * s.w, plane_out = s.oh * s.ow;
  const int64_t units = s.n * s.c * s.oh;  // (plane, output row)
  with_stride(s.stride_w, [&](auto sw) {
    for_unit_ranges(r, units, s.ow * s.kh * s.kw, [&](int64_t first, int64_t end, int) {
      for (int64_t u = first; u < end; ++u) {
        const int64_t plane = u / s.oh, oh = u % s.oh;
        const T* x_plane = x + plane * plane_in;
        const int64_t out_offset = plane * plane_out + oh * s.ow;
        if (s.mode == PoolMode::Avg)
          avg_row_nchw(s, x_plane, oh, sw, y + out_offset);
        else if (argmax)
          max_row_nchw<T, true>(s, x_plane, oh, sw, y + out_offset, argmax + out_offset);
        else
          max_row_nchw<T, false>(s, x_plane, oh, sw, y + out_offset, nullptr);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// NHWC forward: channels are contiguous, so every window element is a vector op over a block
// of channels [c0, c0 + cn).

template <class T, bool kWithIndex, class Width>
void max_channels_nhwc(const PoolShape& s, const T* x_image, const Span& rows, const Span& cols, int64_t c0,
                       Width width, T* out, int32_t* out_index) {
  T best[kChunk<T>];
  int32_t best_index[kChunk<T>];
  const int32_t first_index = int32_t(rows.begin * s.w + cols.begin);
  for (int64_t ch = 0; ch < width; ++ch) {
    best[ch] = -std::numeric_limits<T>::infinity();
    best_index[ch] = first_index;
  }
  for (int64_t ih = rows.begin; ih < rows.end; ++ih)
    for (int64_t iw = cols.begin; iw < cols.end; ++iw) {
      const T* in = x_image + (ih * s.w + iw) * s.c + c0;
      const int32_t index = int32_t(ih * s.w + iw);
      for (int64_t ch = 0; ch < width; ++ch) {
        const T v = in[ch];
        const bool take = (v > best[ch]) | std::isnan(v);
        best[ch] = take ? v : best[ch];
        if constexpr (kWithIndex) best_index[ch] = take ? index : best_index[ch];
      }
    }
  for (int64_t ch = 0; ch < width; ++ch) out[ch] = best[ch];
  if constexpr (kWithIndex)
    for (int64_t ch = 0; ch < width; ++ch) out_index[ch] = best_index[ch];
}

template <class T, class Width>
void avg_channels_nhwc(const PoolShape& s, const T* x_image, const Span& rows, const Span& cols, int64_t c0,
                       Width width, T* out) {
  T sum[kChunk<T>];
  for (int64_t ch = 0; ch < width; ++ch) sum[ch] = T(0);
  for (int64_t ih = rows.begin; ih < rows.end; ++ih)
    for (int64_t iw = cols.begin; iw < cols.end; ++iw) {
      const T* in = x_image + (ih * s.w + iw) * s.c + c0;
      for (int64_t ch = 0; ch < width; ++ch) sum[ch] += in[ch];
    }
  const T divisor = T(avg_divisor(s, rows, cols));
  for (int64_t ch = 0; ch < width; ++ch) out[ch] = sum[ch] / divisor;
}

template <class T, bool kWithIndex, class Width>
void max_lanes_nhwc(const PoolShape& s, const T* x_image, const Span& rows, const Span& cols, int64_t c0,
                       Width, T* out, int32_t* out_index) {
  constexpr int64_t W = Width::value;
  MaxLanes<T, W, kWithIndex> acc(index_ramp<T, W>(rows.begin * s.w + cols.begin, 0));
  for (int64_t ih = rows.begin; ih < rows.end; ++ih)
    for (int64_t iw = cols.begin; iw < cols.end; ++iw)
      acc.update(load_lanes<T, W>(x_image + (ih * s.w + iw) * s.c + c0),
                 kWithIndex ? index_ramp<T, W>(ih * s.w + iw, 0) : acc.index);
  store_lanes<T, W>(out, acc.best);
  if constexpr (kWithIndex) store_indices<T, W>(out_index, acc.index);
}

template <class T, class Width>
void avg_lanes_nhwc(const PoolShape& s, const T* x_image, const Span& rows, const Span& cols, int64_t c0,
                       Width, T* out) {
  constexpr int64_t W = Width::value;
  Lanes<T, W> sum = {};
  for (int64_t ih = rows.begin; ih < rows.end; ++ih)
    for (int64_t iw = cols.begin; iw < cols.end; ++iw) sum += load_lanes<T, W>(x_image + (ih * s.w + iw) * s.c + c0);
  store_lanes<T, W>(out, sum / T(avg_divisor(s, rows, cols)));
}

// One output pixel, channels [c0, c0 + cn).
template <class T>
void pixel_nhwc(const PoolShape& s, const T* x_image, const Span& rows, const Span& cols, int64_t c0, int64_t cn,
                T* out, int32_t* out_index) {
  for_register_chunks<T>(c0, c0 + cn, [&](int64_t c, auto width) {
    T* o = out + (c - c0);
    int32_t* index = out_index ? out_index + (c - c0) : nullptr;
    if constexpr (!is_small_piece<T, decltype(width)>()) {
      if (s.mode == PoolMode::Avg)
        avg_channels_nhwc(s, x_image, rows, cols, c, width, o);
      else if (index)
        max_channels_nhwc<T, true>(s, x_image, rows, cols, c, width, o, index);
      else
        max_channels_nhwc<T, false>(s, x_image, rows, cols, c, width, o, nullptr);
    } else {
      if (s.mode == PoolMode::Avg)
        avg_lanes_nhwc(s, x_image, rows, cols, c, width, o);
      else if (index)
        max_lanes_nhwc<T, true>(s, x_image, rows, cols, c, width, o, index);
      else
        max_lanes_nhwc<T, false>(s, x_image, rows, cols, c, width, o, nullptr);
    }
  });
}

template <class T>
void forward_nhwc(const PoolShape& s, const T* x, T* y, int32_t* argmax, Runner& r) {
  const int64_t rows_total = s.n * s.oh;
  const int64_t blocks = channel_blocks(r, rows_total, s.c);
  const int64_t block = (s.c + blocks - 1) / blocks;
  const int64_t units = rows_total * blocks;  // (image, output row, channel block)
  for_unit_ranges(r, units, s.ow * s.kh * s.kw * block, [&](int64_t first, int64_t end, int) {
    for (int64_t u = first; u < end; ++u) {
      const int64_t row = u / blocks, c0 = (u % blocks) * block;
      const int64_t cn = std::min(block, s.c - c0);
      const int64_t image = row / s.oh, oh = row % s.oh;
      const T* x_image = x + image * s.h * s.w * s.c;
      const Span rows = window_span(oh, s.stride_h, s.pad_h, s.kh, s.h);
      for (int64_t ow = 0; ow < s.ow; ++ow) {
        const Span cols = window_span(ow, s.stride_w, s.pad_w, s.kw, s.w);
        const int64_t out_offset = (row * s.ow + ow) * s.c + c0;
        pixel_nhwc(s, x_image, rows, cols, c0, cn, y + out_offset, argmax ? argmax + out_offset : nullptr);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Backward. Windows of one plane may overlap, so a task owns whole planes (NCHW) or whole
// (image, channel block) slabs (NHWC) and no two tasks write the same dx element.

[[noreturn]] inline void throw_bad_argmax(int64_t index, int64_t plane_size) {
  throw Error("ERR_ARG", "argmax holds " + std::to_string(index) + ", outside the input plane of " +
                             std::to_string(plane_size) + " elements: it must come from the forward pass");
}

// Avg backward of one output row into its plane: interior columns go tap by tap with the output
// columns innermost (within one tap the columns hit distinct dx elements), edges one by one.
template <class T, class Stride>
void avg_backward_row_nchw(const PoolShape& s, const T* dy_row, int64_t oh, Stride sw, T* __restrict share,
                           T* __restrict dx_plane) {
  const Span rows = window_span(oh, s.stride_h, s.pad_h, s.kh, s.h);
  const InteriorColumns inner = interior_columns(s);
  if (inner.first < inner.end) {
    const Span cols = window_span(inner.first, s.stride_w, s.pad_w, s.kw, s.w);
    const T divisor = T(avg_divisor(s, rows, cols));
    for (int64_t ow = inner.first; ow < inner.end; ++ow) share[ow] = dy_row[ow] / divisor;
    for (int64_t ih = rows.begin; ih < rows.end; ++ih) {
      T* dx_row = dx_plane + ih * s.w;
      for (int64_t j = 0; j < s.kw; ++j) {
        const int64_t tap = j - s.pad_w;
        for (int64_t ow = inner.first; ow < inner.end; ++ow) dx_row[ow * sw + tap] += share[ow];
      }
    }
  }
  auto edge_column = [&](int64_t ow) {
    const Span cols = window_span(ow, s.stride_w, s.pad_w, s.kw, s.w);
    const T part = dy_row[ow] / T(avg_divisor(s, rows, cols));
    for (int64_t ih = rows.begin; ih < rows.end; ++ih)
      for (int64_t iw = cols.begin; iw < cols.end; ++iw) dx_plane[ih * s.w + iw] += part;
  };
  for (int64_t ow = 0; ow < inner.first; ++ow) edge_column(ow);
  for (int64_t ow = inner.end; ow < s.ow; ++ow) edge_column(ow);
}

template <class T>
void backward_nchw(const PoolShape& s, const T* dy, const int32_t* argmax, T* dx, Runner& r) {
  const int64_t plane_in = s.h * s.w, plane_out = s.oh * s.ow;
  with_stride(s.stride_w, [&](auto sw) {
    for_unit_ranges(r, s.n * s.c, plane_in + plane_out * s.kh * s.kw, [&](int64_t first, int64_t end, int thread) {
      // Avg: dy / divisor of the interior columns of one output row.
      T* share = s.mode == PoolMode::Avg ? scratch_of<T>(r, thread, 0, s.ow) : nullptr;
      for (int64_t plane = first; plane < end; ++plane) {
        T* dx_plane = dx + plane * plane_in;
        const T* dy_plane = dy + plane * plane_out;
        std::memset(dx_plane, 0, sizeof(T) * size_t(plane_in));
        if (s.mode == PoolMode::Avg) {
          for (int64_t oh = 0; oh < s.oh; ++oh) avg_backward_row_nchw(s, dy_plane + oh * s.ow, oh, sw, share, dx_plane);
          continue;
        }
        const int32_t* index_plane = argmax + plane * plane_out;
        for (int64_t o = 0; o < plane_out; ++o) {
          const int64_t index = index_plane[o];
          if (index < 0 || index >= plane_in) throw_bad_argmax(index, plane_in);
          dx_plane[index] += dy_plane[o];
        }
      }
    });
  });
}

template <class T>
void backward_nhwc(const PoolShape& s, const T* dy, const int32_t* argmax, T* dx, Runner& r) {
  const int64_t plane_in = s.h * s.w, plane_out = s.oh * s.ow;
  const int64_t blocks = channel_blocks(r, s.n, s.c);
  const int64_t block = (s.c + blocks - 1) / blocks;
  const int64_t work_per_unit = (plane_in + plane_out * s.kh * s.kw) * block;
  for_unit_ranges(r, s.n * blocks, work_per_unit, [&](int64_t first, int64_t end, int thread) {
    // Avg: dy / divisor for one output pixel, computed once and added to every window element.
    T* share = s.mode == PoolMode::Avg ? scratch_of<T>(r, thread, 0, block) : nullptr;
    for (int64_t u = first; u < end; ++u) {
      const int64_t image = u / blocks, c0 = (u % blocks) * block;
      const int64_t cn = std::min(block, s.c - c0);
      T* dx_image = dx + image * plane_in * s.c;
      const T* dy_image = dy + image * plane_out * s.c;
      if (cn == s.c)
        std::memset(dx_image, 0, sizeof(T) * size_t(plane_in * s.c));
      else
        for (int64_t p = 0; p < plane_in; ++p) std::memset(dx_image + p * s.c + c0, 0, sizeof(T) * size_t(cn));
      if (s.mode == PoolMode::Max) {
        const int32_t* index_image = argmax + image * plane_out * s.c;
        for (int64_t o = 0; o < plane_out; ++o) {
          const int32_t* index_pixel = index_image + o * s.c + c0;
          const T* dy_pixel = dy_image + o * s.c + c0;
          for (int64_t ch = 0; ch < cn; ++ch) {
            const int64_t index = index_pixel[ch];
            if (index < 0 || index >= plane_in) throw_bad_argmax(index, plane_in);
            dx_image[index * s.c + c0 + ch] += dy_pixel[ch];
          }
        }
        continue;
      }
      for (int64_t oh = 0; oh < s.oh; ++oh) {
        const Span rows = window_span(oh, s.stride_h, s.pad_h, s.kh, s.h);
        for (int64_t ow = 0; ow < s.ow; ++ow) {
          const Span cols = window_span(ow, s.stride_w, s.pad_w, s.kw, s.w);
          const T divisor = T(avg_divisor(s, rows, cols));
          const T* dy_pixel = dy_image + (oh * s.ow + ow) * s.c + c0;
          for (int64_t ch = 0; ch < cn; ++ch) share[ch] = dy_pixel[ch] / divisor;
          for (int64_t ih = rows.begin; ih < rows.end; ++ih)
            for (int64_t iw = cols.begin; iw < cols.end; ++iw) {
              T* __restrict dx_pixel = dx_image + (ih * s.w + iw) * s.c + c0;
              for (int64_t ch = 0; ch < cn; ++ch) dx_pixel[ch] += share[ch];
            }
        }
      }
    }
  });
}

}  // namespace pool_detail

template <class T>
void pool2d_forward(const PoolShape& s, const T* x, T* y, int32_t* argmax, Runner& r) {
  if (s.layout == Layout::NCHW)
    pool_detail::forward_nchw(s, x, y, argmax, r);
  else
    pool_detail::forward_nhwc(s, x, y, argmax, r);
}

template <class T>
void pool2d_backward(const PoolShape& s, const T* dy, const int32_t* argmax, T* dx, Runner& r) {
  if (s.mode == PoolMode::Max && argmax == nullptr)
    throw Error("ERR_ARG", "max pool backward needs the argmax of the forward pass");
  if (s.layout == Layout::NCHW)
    pool_detail::backward_nchw(s, dy, argmax, dx, r);
  else
    pool_detail::backward_nhwc(s, dy, argmax, dx, r);
}
