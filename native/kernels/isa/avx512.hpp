// Constants of the AVX-512 kernels (32 zmm registers of 64 bytes). Included through
// isa/config.hpp only.
#pragma once

#include <cstdint>

namespace convkit {
namespace avx512 {
// KernelTable::isa and ConvPlan::isa of this ISA's table.
constexpr const char* kIsaName = "avx512";
constexpr int64_t kVectorBytes = 64;
constexpr int kVectorRegisters = 32;
// GEMM micro-tile rows: 14 rows x 2 vectors of C in 28 registers, 2 for the B row and the
// broadcasts (folded into the FMAs as embedded broadcasts).
constexpr int kGemmRows = 14;
// Accumulators of the direct convolution (about half the registers) and of its dW kernel.
constexpr int kDirectAccumulators = 16;
constexpr int kDirectFilterAccumulators = 24;
// Output pixels the depthwise kernel computes at once, in vectors of channels each.
constexpr int kDepthwisePixels = 8;
constexpr int64_t kDepthwisePixelVectors = 2;
// Pooling keeps a chunk of this many bytes of outputs in registers across a window: 4 zmm.
constexpr int64_t kPoolChunkBytes = 256;
}  // namespace avx512
}  // namespace convkit
