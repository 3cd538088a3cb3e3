// Constants of the portable kernels: baseline x86-64 (SSE2, 16 xmm registers of 16 bytes) or
// whatever the target's default flags give. Included through isa/config.hpp only.
#pragma once

#include <cstdint>

namespace convkit {
namespace generic {
// KernelTable::isa and ConvPlan::isa of this ISA's table.
constexpr const char* kIsaName = "generic";
constexpr int64_t kVectorBytes = 16;
constexpr int kVectorRegisters = 16;
// GEMM micro-tile: a 4 x 8 array of C the compiler keeps in SSE2 registers.
constexpr int kGemmRows = 4;
constexpr int kGemmColumns = 8;
// Accumulators of the direct convolution (about half the registers) and of its dW kernel.
constexpr int kDirectAccumulators = 8;
constexpr int kDirectFilterAccumulators = 12;
// Output pixels the depthwise kernel computes at once, in vectors of channels each.
constexpr int kDepthwisePixels = 4;
constexpr int64_t kDepthwisePixelVectors = 1;
// Pooling keeps a chunk of this many bytes of outputs in registers across a window: 8 xmm.
constexpr int64_t kPoolChunkBytes = 128;
}  // namespace generic
}  // namespace convkit
