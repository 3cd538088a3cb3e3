// Constants of the AVX2 + FMA kernels (16 ymm registers of 32 bytes). Included through
// isa/config.hpp only.
#pragma once

#include <cstdint>

namespace convkit {
namespace avx2 {
// KernelTable::isa and ConvPlan::isa of this ISA's table.
constexpr const char* kIsaName = "avx2";
constexpr int64_t kVectorBytes = 32;
constexpr int kVectorRegisters = 16;
// GEMM micro-tile rows: 6 rows x 2 vectors of C in 12 registers, 2 for the B row, 1 broadcast.
constexpr int kGemmRows = 6;
// Accumulators of the direct convolution (about half the registers) and of its dW kernel.
constexpr int kDirectAccumulators = 12;
constexpr int kDirectFilterAccumulators = 12;
// Output pixels the depthwise kernel computes at once, in vectors of channels each.
constexpr int kDepthwisePixels = 4;
constexpr int64_t kDepthwisePixelVectors = 1;
// Pooling keeps a chunk of this many bytes of outputs in registers across a window: 4 ymm.
constexpr int64_t kPoolChunkBytes = 128;
}  // namespace avx2
}  // namespace convkit
