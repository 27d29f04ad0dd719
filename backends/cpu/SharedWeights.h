// Internal to backends/cpu: constant weights reordered once per process, not once per kernel,
// so that the executors of a Session's pool (and any other plan over the same constants) share
// one copy of every reordered weight.
#pragma once

#include "backends/cpu/CpuBackend.h"
#include "backends/cpu/Dnnl.h"
#include "runtime/Packing.h"

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

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

// What `make` derives from constant `src` (a kernel's own transform of its weights, e.g. the
// Winograd route's), shared like sharedReorder's results: the same (storage of src, offset,
// derivation) while an earlier result is still held returns that result without calling
// `make` again. `derivation` names the transform and everything it depends on besides src.
SharedMemory sharedDerived(const Tensor &src, const std::string &derivation,
                           const std::function<SharedMemory()> &make);

// The constant input `input` of the kernel `a` is preparing, in layout `wanted`, times
// `scale`: what conv and matmul call for their weights. A plain constant (laid out as `plain`)
// goes through sharedReorder, unless `wanted` is `plain` and the scale 1: then, like a packed
// one that matches, the constant's own bytes are used (the kernel reads the constant at run:
// see borrowsConstant). One the plan stores pre-packed (BufferInfo::packing, from an
// artifact) is used in place, the mapped bytes themselves, when it was packed as `wanted`
// with the same scale (the usual case: the artifact was written on a machine like this one);
// packed in another layout (another CPU), it is reordered from that layout. Marks the input
// as read packed (KernelArgs::packedRead) so that the kernel factory accepts the step.
SharedMemory constantWeights(const KernelArgs &a, size_t input, const Desc &plain,
                             const Desc &wanted, float scale = 1.f);

// The packed layout of constant input `input` (checked; nullopt: not packed).
std::optional<PackedLayout> packedLayout(const KernelArgs &a, size_t input);
// The rank of that layout (0: not packed, or packed with a transform). Kernels with more than
// one route read it to take the route the weights were packed for.
size_t packedRank(const KernelArgs &a, size_t input);

// Whether `m` (from constantWeights) is the constant's own memory rather than a copy.
inline bool borrowsConstant(const SharedMemory &m, const Tensor &constant) {
  return m && m->get_data_handle() == constant.raw();
}

// What packedConstants() reports for a weight held as `m` (input `input`, multiplied by
// `scale`): nothing when its layout is not a plain blocked one that Packing.h describes.
std::vector<PackedConstant> packedWeight(size_t input, const SharedMemory &m, float scale);

// The layout of `desc` as Packing.h describes it; false for what it cannot describe
// (non-blocked formats, offsets, compensation flags, non-f32 data).
bool packedLayoutOf(const Desc &desc, float scale, PackedLayout &out);
// The oneDNN f32 descriptor of a (checked, parsePacking) packed layout.
Desc descOf(const PackedLayout &layout);

// sharedWeightStats() is declared in CpuBackend.h (tests use it without oneDNN).

} // namespace plumb::cpu
