// The reference interpreter's IR walker: runs a func.func of plumb ops (including
// plumb.fusion bodies) with the MLIR-free reference kernels.
#pragma once

#include "backends/reference/Kernel.h"
#include "backends/reference/RefValue.h"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mlir {
class Operation;
}

namespace plumb::ref {

struct RunOptions {
  Precision precision = Precision::F32;
  // Called with every ONNX-named tensor as it is produced (node outputs, in execution
  // order; fusion and If bodies included, Loop/Scan/SequenceMap bodies not: they run many
// times and their tensors are per-iteration values, not graph tensors). Observation only: it never changes what runs.
  std::function<void(const std::string &name, const plumb::Tensor &t)> onTensor;
  // Simulated reduced precision (`plumb check --dtype f16|bf16`): every node except those
  // named in `keepF32` rounds its float inputs (weights included) and results to this type;
  // arithmetic inside a kernel stays f32, as on hardware that accumulates in f32.
  std::optional<DType> roundTo;
  std::set<std::string> keepF32;
  // Replaces the value of these ONNX tensors as they are produced (`plumb bisect` re-runs a
  // suspect region on another framework's activations). Converted to the produced dtype;
  // a shape mismatch is an error naming the tensor.
  std::map<std::string, plumb::Tensor> overrides;
};

// Runs `func` (a func.func whose body holds plumb ops) on `inputs`, one per argument in
// order, and returns its results (fresh storage, independent of the MLIR context).
// Throws plumb::Error naming the input or node on bad inputs or a failing kernel.
std::vector<plumb::Tensor> interpret(mlir::Operation *func, const std::vector<plumb::Tensor> &inputs,
                                     const RunOptions &opts = {});

// Like `interpret`, for models whose inputs or outputs may be sequences or optionals.
std::vector<RefValue> interpretValues(mlir::Operation *func, const std::vector<RefValue> &inputs,
                                      const RunOptions &opts = {});

// Evaluates one op (a plumb op with a reference kernel, or a plumb.fusion) on ONNX-positional
// `inputs` (nullptr for a `none` operand) exactly as `interpret` would: same attribute
// conversion, kernel and result narrowing to the IR's types. Used by constant folding.
// Returns fresh storage; throws plumb::Error when the kernel fails or disagrees with the IR.
std::vector<plumb::Tensor> evaluateOp(mlir::Operation *op,
                                      const std::vector<const plumb::Tensor *> &inputs,
                                      Precision precision = Precision::F32);

// The op's attributes under their ONNX names, as kernels receive them (backends use this
// to hand an op's attributes to their own kernels).
Attrs attrsOf(mlir::Operation *op);

} // namespace plumb::ref
