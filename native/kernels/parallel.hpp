// When the kernels split a call across threads, and into how many pieces: the thresholds of the
// thread split (a few chunk sizes local to one loop stay with it). ISA-neutral constants: the same split on every ISA
// keeps per-thread results reproducible whichever table runs. (Tile and block sizes, which do depend on the ISA, are in
// isa/<isa>.hpp and gemm/blocking.hpp.)
#pragma once

#include <cstdint>

namespace convkit {

// Convolutions, GEMMs and element-wise ops: below this much work (multiply-adds or element
// visits) a call runs on the calling thread (with_sized_runner, conv2d_plan); waking the pool
// would cost more than it saves.
constexpr double kSerialWork = 1 << 19;

// Several tasks per thread: the pool splits tasks statically, so smaller pieces even out units of
// uneven cost (edge rows, clipped windows) between threads.
constexpr int64_t kTasksPerThread = 4;

// Pooling: below this many element operations in a call (window taps forward; taps plus dx
// elements backward) it runs as one task on the calling thread, where waking the pool's threads
// would cost about as much as the work.
constexpr int64_t kPoolMinParallelWork = int64_t(1) << 15;

// Pooling, NHWC: channels are cut into blocks of at least this many elements, and only when
// there are too few (image, row) units to give every thread kTasksPerThread tasks; narrower
// blocks would spend more on loop overhead than they gain in balance.
constexpr int64_t kPoolMinChannelBlock = 64;

// Zero padding: below this many output elements a call runs as one task, inline (a row is a
// memset / memcpy / memset, so the work per element is tiny).
constexpr int64_t kPadMinParallelElements = int64_t(1) << 16;

// Element-wise ops (relu, adam): elements per task once a call is large enough to use threads
// (with_sized_runner decides that): big enough that a task's overhead is small next to its
// memory traffic, small enough that mid-sized tensors still give every thread several tasks.
constexpr int64_t kElementwiseChunk = int64_t(1) << 14;

}  // namespace convkit
