// Re-checks every size the kernels are given: the JS layer validates first, but the native
// side never trusts it.
#include <climits>
#include <initializer_list>
#include <string>

#include "common.hpp"

namespace convkit {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

void require_positive(const char* what, int64_t v) {
  if (v < 1) throw Error(ErrorCode::ERR_SHAPE, std::string(what) + " must be a positive integer, got " + str(v));
}

void require_non_negative(const char* what, int64_t v) {
  if (v < 0) throw Error(ErrorCode::ERR_ARG, std::string(what) + " must be a non-negative integer, got " + str(v));
}

// Product of the factors, or ERR_TOO_LARGE if it passes kMaxKernelElements (checked step by step so
// nothing overflows).
int64_t checked_count(const char* what, std::initializer_list<int64_t> factors) {
  int64_t total = 1;
  for (int64_t f : factors) {
    if (f < 0) throw Error(ErrorCode::ERR_SHAPE, std::string(what) + " has a negative dimension " + str(f));
    if (f != 0 && total > kMaxKernelElements / f)
      throw Error(ErrorCode::ERR_TOO_LARGE, std::string(what) + " has more than 2^46 elements");
    total *= f;
  }
  return total;
}

// Largest padded input or dilated kernel extent: see validate(ConvShape).
constexpr int64_t kMaxExtent = int64_t(1) << 33;

// dilation * (k - 1) + 1, or a value past kMaxExtent when that overflows.
int64_t span_of(int64_t k, int64_t dilation) {
  int64_t reach;
  if (__builtin_mul_overflow(k - 1, dilation, &reach) || reach >= kMaxExtent) return kMaxExtent + 1;
  return reach + 1;
}

void require_extent(const char* what, int64_t extent) {
  if (extent > kMaxExtent) throw Error(ErrorCode::ERR_TOO_LARGE, std::string(what) + " exceeds 2^33: " + str(extent));
}

int64_t conv_out_size(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t k, int64_t dilation, int64_t stride) {
  const int64_t span = span_of(k, dilation);
  const int64_t padded = in + pad_lo + pad_hi;
  if (padded < span) return 0;
  return (padded - span) / stride + 1;
}

}  // namespace

int64_t pool_out_size(int64_t in, int64_t pad, int64_t k, int64_t stride, bool ceil_mode) {
  const int64_t padded = in + 2 * pad;
  if (padded < k) return 0;
  int64_t out = (padded - k + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  // PyTorch: the last window must start inside the input or the top/left padding.
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

void validate(const ConvShape& s) {
  if (s.layout != Layout::NHWC && s.layout != Layout::NCHW)
    throw Error(ErrorCode::ERR_ARG, "layout must be NHWC or NCHW, got code " + str(int64_t(s.layout)));
  require_positive("batch size", s.n);
  require_positive("input height", s.h);
  require_positive("input width", s.w);
  require_positive("input channels", s.c);
  require_positive("kernel height", s.kh);
  require_positive("kernel width", s.kw);
  require_positive("output channels", s.cout);
  require_positive("groups", s.groups);
  require_positive("stride height", s.stride_h);
  require_positive("stride width", s.stride_w);
  require_positive("dilation height", s.dilation_h);
  require_positive("dilation width", s.dilation_w);
  require_non_negative("padding top", s.pad_top);
  require_non_negative("padding left", s.pad_left);
  require_non_negative("padding bottom", s.pad_bottom);
  require_non_negative("padding right", s.pad_right);
  for (int64_t v : {s.h, s.w, s.kh, s.kw, s.stride_h, s.stride_w, s.dilation_h, s.dilation_w, s.pad_top, s.pad_left,
                    s.pad_bottom, s.pad_right})
    if (v > kMaxDimension) throw Error(ErrorCode::ERR_TOO_LARGE, "a spatial size or option exceeds 2^31: " + str(v));
  if (s.c % s.groups != 0)
    throw Error(ErrorCode::ERR_SHAPE,
                "groups (" + str(s.groups) + ") must divide the input channels (" + str(s.c) + ")");
  if (s.cout % s.groups != 0)
    throw Error(ErrorCode::ERR_SHAPE,
                "groups (" + str(s.groups) + ") must divide the output channels (" + str(s.cout) + ")");
  // Derived extents: the padded input, and the dilated kernel span, which must fit inside it
  // (else there is no output, below). Every field being at most 2^31, both stay below 2^33
  // (checked all the same, should a field's cap ever grow), so that the kernels' index
  // arithmetic (an extent times a stride, plus an element offset) fits in int64. Products of
  // two extents, or of an extent and the channels, can still pass 2^63: the kernels form those
  // only through checked.hpp (saturated for path choice, checked for workspace sizes).
  require_extent("padded input height", s.h + s.pad_top + s.pad_bottom);
  require_extent("padded input width", s.w + s.pad_left + s.pad_right);
  const int64_t oh = conv_out_size(s.h, s.pad_top, s.pad_bottom, s.kh, s.dilation_h, s.stride_h);
  const int64_t ow = conv_out_size(s.w, s.pad_left, s.pad_right, s.kw, s.dilation_w, s.stride_w);
  if (oh < 1 || ow < 1)
    throw Error(ErrorCode::ERR_SHAPE, "kernel (" + str(s.kh) + "x" + str(s.kw) + ", dilation " + str(s.dilation_h) +
                                          "x" + str(s.dilation_w) + ") is larger than the padded input (" +
                                          str(s.h + s.pad_top + s.pad_bottom) + "x" +
                                          str(s.w + s.pad_left + s.pad_right) + ")");
  if (s.oh != oh || s.ow != ow)
    throw Error(ErrorCode::ERR_SHAPE,
                "output size must be " + str(oh) + "x" + str(ow) + ", got " + str(s.oh) + "x" + str(s.ow));
  checked_count("input", {s.n, s.h, s.w, s.c});
  checked_count("weights", {s.kh, s.kw, s.c / s.groups, s.cout});
  checked_count("output", {s.n, s.oh, s.ow, s.cout});
  checked_count("im2col row", {s.kh, s.kw, s.c});
}

void validate(const PoolShape& s) {
  if (s.layout != Layout::NHWC && s.layout != Layout::NCHW)
    throw Error(ErrorCode::ERR_ARG, "layout must be NHWC or NCHW, got code " + str(int64_t(s.layout)));
  if (s.mode != PoolMode::Max && s.mode != PoolMode::Avg)
    throw Error(ErrorCode::ERR_ARG, "pool mode must be max or avg, got code " + str(int64_t(s.mode)));
  require_positive("batch size", s.n);
  require_positive("channels", s.c);
  require_positive("input height", s.h);
  require_positive("input width", s.w);
  require_positive("kernel height", s.kh);
  require_positive("kernel width", s.kw);
  require_positive("stride height", s.stride_h);
  require_positive("stride width", s.stride_w);
  require_non_negative("padding height", s.pad_h);
  require_non_negative("padding width", s.pad_w);
  for (int64_t v : {s.h, s.w, s.kh, s.kw, s.stride_h, s.stride_w})
    if (v > kMaxDimension) throw Error(ErrorCode::ERR_TOO_LARGE, "a spatial size or option exceeds 2^31: " + str(v));
  // Compared as pad > k / 2, not 2 * pad > k: the padding is not bounded yet and could overflow.
  if (s.pad_h > s.kh / 2 || s.pad_w > s.kw / 2)
    throw Error(ErrorCode::ERR_ARG, "pool padding must be at most half the kernel size, got padding " + str(s.pad_h) +
                                        "x" + str(s.pad_w) + " for kernel " + str(s.kh) + "x" + str(s.kw));
  // argmax stores a flat index inside one (n, c) plane as int32.
  if (s.h * s.w > INT32_MAX)
    throw Error(ErrorCode::ERR_TOO_LARGE,
                "pooling input plane " + str(s.h) + "x" + str(s.w) + " exceeds 2^31 elements");
  const int64_t oh = pool_out_size(s.h, s.pad_h, s.kh, s.stride_h, s.ceil_mode);
  const int64_t ow = pool_out_size(s.w, s.pad_w, s.kw, s.stride_w, s.ceil_mode);
  if (oh < 1 || ow < 1)
    throw Error(ErrorCode::ERR_SHAPE, "pool kernel " + str(s.kh) + "x" + str(s.kw) +
                                          " is larger than the padded input " + str(s.h + 2 * s.pad_h) + "x" +
                                          str(s.w + 2 * s.pad_w));
  if (s.oh != oh || s.ow != ow)
    throw Error(ErrorCode::ERR_SHAPE,
                "pool output size must be " + str(oh) + "x" + str(ow) + ", got " + str(s.oh) + "x" + str(s.ow));
  checked_count("input", {s.n, s.c, s.h, s.w});
  checked_count("output", {s.n, s.c, s.oh, s.ow});
}

void validate(const PadShape& s) {
  if (s.layout != Layout::NHWC && s.layout != Layout::NCHW)
    throw Error(ErrorCode::ERR_ARG, "layout must be NHWC or NCHW, got code " + str(int64_t(s.layout)));
  require_positive("batch size", s.n);
  require_positive("channels", s.c);
  require_positive("input height", s.h);
  require_positive("input width", s.w);
  require_non_negative("padding top", s.pad_top);
  require_non_negative("padding left", s.pad_left);
  require_non_negative("padding bottom", s.pad_bottom);
  require_non_negative("padding right", s.pad_right);
  for (int64_t v : {s.h, s.w, s.pad_top, s.pad_left, s.pad_bottom, s.pad_right})
    if (v > kMaxDimension) throw Error(ErrorCode::ERR_TOO_LARGE, "a spatial size or padding exceeds 2^31: " + str(v));
  checked_count("input", {s.n, s.c, s.h, s.w});
  checked_count("output", {s.n, s.c, s.out_h(), s.out_w()});
}

void validate(const GemmShape& s) {
  require_positive("gemm M", s.m);
  require_positive("gemm N", s.n);
  require_positive("gemm K", s.k);
  for (int64_t v : {s.a_row_stride, s.a_col_stride, s.b_row_stride, s.b_col_stride}) {
    require_non_negative("gemm stride", v);
    if (v > kMaxKernelElements) throw Error(ErrorCode::ERR_TOO_LARGE, "gemm stride exceeds 2^46: " + str(v));
  }
  checked_count("gemm A", {s.m, s.k});
  checked_count("gemm B", {s.k, s.n});
  checked_count("gemm C", {s.m, s.n});
  // Largest indices, computed wide so that no stride product can overflow.
  const __int128 a_last = __int128(s.m - 1) * s.a_row_stride + __int128(s.k - 1) * s.a_col_stride;
  const __int128 b_last = __int128(s.k - 1) * s.b_row_stride + __int128(s.n - 1) * s.b_col_stride;
  if (a_last >= kMaxKernelElements || b_last >= kMaxKernelElements)
    throw Error(ErrorCode::ERR_TOO_LARGE, "gemm operand strides reach past 2^46 elements");
}

}  // namespace convkit
