// Places a plan's intermediate buffers in one arena: buffers whose lifetimes overlap get
// disjoint byte ranges, and memory is reused once a buffer's last reader has run.
#pragma once

#include "runtime/Plan.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace plumb {

// A buffer's lifetime in step indices, both ends inclusive: it is written by step `first`
// and read for the last time by step `last` (== first when nothing reads it).
struct BufferLifetime {
  int id = -1;
  size_t bytes = 0;
  int first = 0;
  int last = 0;
};

struct ArenaAssignment {
  size_t alignment = 64;
  // Arena offset per buffer id; -1 for buffers that do not live in the arena.
  std::vector<int64_t> offsets;
  // Bytes the arena needs (the highest end of any placed buffer): what the executor allocates.
  size_t peakIntermediateBytes = 0;
  // The most bytes (aligned sizes) alive at any one step: no placement can do better, so
  // peakIntermediateBytes / liveLowerBoundBytes measures fragmentation.
  size_t liveLowerBoundBytes = 0;
};

// Lifetimes of the Intermediate buffers of a (valid) plan.
std::vector<BufferLifetime> intermediateLifetimes(const Plan &plan);

// Buffers that share one arena range by Step::inPlaceInput: for each such output, the id of
// the input buffer whose memory it takes (-1 for every other buffer). Only granted when the
// input is an Intermediate whose last reader is that step and the output is an Intermediate
// of the same dtype, byte size and layout; chains (an in-place output taken over again later)
// resolve to the first buffer of the chain.
std::vector<int> inPlaceAliases(const Plan &plan);

// Greedy by size: the largest buffers are placed first, each at the smallest gap between
// already-placed buffers whose lifetimes overlap its own (best fit), else above them all.
// Offsets are multiples of `alignment` (a power of two). `numBuffers` sizes `offsets`.
ArenaAssignment assignArena(const std::vector<BufferLifetime> &lifetimes, size_t numBuffers,
                            size_t alignment = 64);

// Lifetimes (with in-place chains merged into their first buffer) placed by assignArena; an
// in-place output gets its chain's offset.
ArenaAssignment planBuffers(const Plan &plan, size_t alignment = 64);

} // namespace plumb
