// When the memory-bound kernels (pooling, zero padding, element-wise ops) split a call across
// threads, and into how many pieces. ISA-neutral constants: the same split on every ISA keeps
// per-thread results reproducible whichever table runs.
#pragma once

#include <cstdint>

namespace convkit {

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
