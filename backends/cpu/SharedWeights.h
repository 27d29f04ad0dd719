// Internal to backends/cpu: constant weights reordered once per process, not once per kernel,
// so that the executors of a Session's pool (and any other plan over the same constants) share
// one copy of every reordered weight.
#pragma once

#include "backends/cpu/CpuBackend.h"
#include "backends/cpu/Dnnl.h"

#include <cstddef>
#include <memory>

namespace plumb::cpu {

// A reordered constant: kernels hold it for as long as they run; the cache holds it weakly,
// so it is freed with the last kernel that uses it.
using SharedMemory = std::shared_ptr<const dnnl::memory>;

// `src` (an f32 constant laid out as `plain`, which may be strided), times `scale`, in layout
// `wanted`. The same (storage of src, offset, plain, wanted, scale) while an earlier result
// is still held returns that result, without reordering again. Thread-safe. The cache keeps a
// weak reference to src's storage too, so memory freed and reused for other weights at the
// same address is never mistaken for the old constant.
SharedMemory sharedReorder(const Tensor &src, const Desc &plain, const Desc &wanted,
                           float scale = 1.f);

// sharedWeightStats() is declared in CpuBackend.h (tests use it without oneDNN).

} // namespace plumb::cpu
