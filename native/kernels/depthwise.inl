// Direct depthwise convolution (groups == C, so Cin/groups == 1; Cout = C * multiplier):
// output channel o reads input channel o / multiplier. im2col + GEMM would pad every group to
// a full micro-tile and re-read the input once per group; here each output element is a short
// dot product vectorised along the contiguous axis (channels in NHWC, a row in NCHW).

inline bool is_depthwise(const ConvShape& s) { return s.groups > 1 && s.cin_per_group() == 1; }

// dst[o] += src[o / m] * w[o] for o < cout.
template <class T>
inline void depthwise_axpy(T* dst, const T* src, const T* w, int64_t cout, int64_t m) {
  if (m == 1) {
    for (int64_t o = 0; o < cout; ++o) dst[o] += src[o] * w[o];
  } else {
    for (int64_t c = 0, o = 0; o < cout; ++c)
      for (int64_t j = 0; j < m; ++j, ++o) dst[o] += src[c] * w[o];
  }
}

template <class T>
void depthwise_forward(const ConvShape& s, const T* x, const T* w, const T* b, T* y, Runner& r) {
  const int64_t m = s.cout / s.c, khw = s.kh * s.kw;
  if (s.layout == Layout::NHWC) {
    parallel_for(r, s.n * s.oh, [&](int64_t row, int) {
      const int64_t n = row / s.oh, oh = row % s.oh;
      for (int64_t ow = 0; ow < s.ow; ++ow) {
        T* out = y + (row * s.ow + ow) * s.cout;
        for (int64_t o = 0; o < s.cout; ++o) out[o] = b ? b[o] : T(0);
        for (int64_t kh = 0; kh < s.kh; ++kh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.h) continue;
          for (int64_t kw = 0; kw < s.kw; ++kw) {
            const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (iw < 0 || iw >= s.w) continue;
            depthwise_axpy(out, x + ((n * s.h + ih) * s.w + iw) * s.c, w + (kh * s.kw + kw) * s.cout, s.cout, m);
          }
        }
      }
    });
    return;
  }
  parallel_for(r, s.n * s.cout, [&](int64_t plane, int) {
    const int64_t n = plane / s.cout, o = plane % s.cout;
    const T* xc = x + (n * s.c + o / m) * s.h * s.w;
    const T* wo = w + o * khw;
    for (int64_t oh = 0; oh < s.oh; ++oh) {
      T* out = y + (plane * s.oh + oh) * s.ow;
      for (int64_t ow = 0; ow < s.ow; ++ow) out[ow] = b ? b[o] : T(0);
      for (int64_t kh = 0; kh < s.kh; ++kh) {
        const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
        if (ih < 0 || ih >= s.h) continue;
        for (int64_t kw = 0; kw < s.kw; ++kw) {
          const int64_t iw0 = kw * s.dilation_w - s.pad_left;
          int64_t lo, hi;
          valid_run(iw0, s.stride_w, s.ow, s.w, lo, hi);
          if (hi <= lo) continue;
          const T wv = wo[kh * s.kw + kw];
          const T* in = xc + ih * s.w + iw0 + lo * s.stride_w;
          if (s.stride_w == 1)
            for (int64_t t = 0; t < hi - lo; ++t) out[lo + t] += wv * in[t];
          else
            for (int64_t t = 0; t < hi - lo; ++t) out[lo + t] += wv * in[t * s.stride_w];
        }
      }
    }
  });
}

template <class T>
void depthwise_backward_input(const ConvShape& s, const T* dy, const T* w, T* dx, Runner& r) {
  const int64_t m = s.cout / s.c, khw = s.kh * s.kw;
  zero_fill(dx, s.x_size(), r);
  if (s.layout == Layout::NHWC) {
    for_each_band_two_phase(r, s, [&](int64_t n, int64_t oh_begin, int64_t oh_end, int) {
      for (int64_t oh = oh_begin; oh < oh_end; ++oh)
        for (int64_t ow = 0; ow < s.ow; ++ow) {
          const T* grad = dy + ((n * s.oh + oh) * s.ow + ow) * s.cout;
          for (int64_t kh = 0; kh < s.kh; ++kh) {
            const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
            if (ih < 0 || ih >= s.h) continue;
            for (int64_t kw = 0; kw < s.kw; ++kw) {
              const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
              if (iw < 0 || iw >= s.w) continue;
              T* dst = dx + ((n * s.h + ih) * s.w + iw) * s.c;
              const T* wk = w + (kh * s.kw + kw) * s.cout;
              if (m == 1) {
                for (int64_t c = 0; c < s.c; ++c) dst[c] += grad[c] * wk[c];
              } else {
                for (int64_t c = 0, o = 0; c < s.c; ++c)
                  for (int64_t j = 0; j < m; ++j, ++o) dst[c] += grad[o] * wk[o];
              }
            }
          }
        }
    });
    return;
  }
  // NCHW: one input plane per task gathers from its `m` output planes: no races.
  parallel_for(r, s.n * s.c, [&](int64_t plane, int) {
    const int64_t n = plane / s.c, c = plane % s.c;
    T* dxc = dx + plane * s.h * s.w;
    for (int64_t o = c * m; o < (c + 1) * m; ++o) {
      const T* wo = w + o * khw;
      for (int64_t oh = 0; oh < s.oh; ++oh) {
        const T* grad = dy + ((n * s.cout + o) * s.oh + oh) * s.ow;
        for (int64_t kh = 0; kh < s.kh; ++kh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.h) continue;
          for (int64_t kw = 0; kw < s.kw; ++kw) {
            const int64_t iw0 = kw * s.dilation_w - s.pad_left;
            int64_t lo, hi;
            valid_run(iw0, s.stride_w, s.ow, s.w, lo, hi);
            if (hi <= lo) continue;
            const T wv = wo[kh * s.kw + kw];
            T* dst = dxc + ih * s.w + iw0 + lo * s.stride_w;
            for (int64_t t = 0; t < hi - lo; ++t) dst[t * s.stride_w] += wv * grad[lo + t];
          }
        }
      }
    }
  });
}

template <class T>
void depthwise_backward_filter(const ConvShape& s, const T* dy, const T* x, T* dw, T* db, Runner& r) {
  const int64_t m = s.cout / s.c, khw = s.kh * s.kw;
  Partials<T> partials{r, dw, db, s.w_size(), s.cout};
  partials.zero();
  if (s.layout == Layout::NHWC) {
    parallel_for(r, s.n * s.oh, [&](int64_t row, int thread) {
      const int64_t n = row / s.oh, oh = row % s.oh;
      T* dw_part = partials.weights(thread);
      T* db_part = db ? partials.bias(thread) : nullptr;
      for (int64_t ow = 0; ow < s.ow; ++ow) {
        const T* grad = dy + (row * s.ow + ow) * s.cout;
        if (db_part)
          for (int64_t o = 0; o < s.cout; ++o) db_part[o] += grad[o];
        for (int64_t kh = 0; kh < s.kh; ++kh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.h) continue;
          for (int64_t kw = 0; kw < s.kw; ++kw) {
            const int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dilation_w;
            if (iw < 0 || iw >= s.w) continue;
            // dw[k][o] += x[o / m] * dy[o]: the same axpy with the roles of w and dy swapped.
            depthwise_axpy(dw_part + (kh * s.kw + kw) * s.cout, x + ((n * s.h + ih) * s.w + iw) * s.c, grad, s.cout, m);
          }
        }
      }
    });
  } else {
    parallel_for(r, s.n * s.cout, [&](int64_t plane, int thread) {
      const int64_t n = plane / s.cout, o = plane % s.cout;
      const T* xc = x + (n * s.c + o / m) * s.h * s.w;
      T* dwo = partials.weights(thread) + o * khw;
      T bias_sum = T(0);
      for (int64_t oh = 0; oh < s.oh; ++oh) {
        const T* grad = dy + (plane * s.oh + oh) * s.ow;
        for (int64_t ow = 0; ow < s.ow; ++ow) bias_sum += grad[ow];
        for (int64_t kh = 0; kh < s.kh; ++kh) {
          const int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dilation_h;
          if (ih < 0 || ih >= s.h) continue;
          for (int64_t kw = 0; kw < s.kw; ++kw) {
            const int64_t iw0 = kw * s.dilation_w - s.pad_left;
            int64_t lo, hi;
            valid_run(iw0, s.stride_w, s.ow, s.w, lo, hi);
            const T* in = xc + ih * s.w + iw0 + lo * s.stride_w;
            T sum = T(0);
            for (int64_t t = 0; t < hi - lo; ++t) sum += grad[lo + t] * in[t * s.stride_w];
            dwo[kh * s.kw + kw] += sum;
          }
        }
      }
      if (db) partials.bias(thread)[o] += bias_sum;
    });
  }
  partials.reduce();
}
