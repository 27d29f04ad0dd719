// A fusion body as the CUDA kernel generator sees it: values with static shapes and the
// ONNX ops between them, in order. MLIR-free, so the generator can be built and tested
// without the compiler and its output reproduced from an artifact.
#pragma once

#include "backends/reference/Kernel.h"
#include "runtime/Tensor.h"

#include <map>
#include <string>
#include <vector>

namespace plumb::cuda {

struct KValue {
  DType dtype = DType::F32;
  Shape shape;
};

struct KNode {
  std::string op; // ONNX op type, e.g. "Add", "ReduceMean", "Softmax"
  ref::Attrs attrs;
  std::vector<int> operands; // value ids; -1 for an absent optional operand
  std::vector<int> results;  // value ids
  std::string name;          // ONNX node name, for error messages
};

struct KernelGraph {
  std::string kind;                  // the plumb.fusion kind ("elementwise", "attention", ...)
  std::string label;                 // ONNX node names covered, for error messages
  std::vector<KValue> values;        // indexed by value id
  std::vector<int> inputs;           // kernel parameters read from memory, in order
  std::vector<int> outputs;          // kernel results written to memory, in order
  std::vector<KNode> nodes;          // topologically ordered
  std::map<int, double> scalars;     // value id -> constant folded into the source
  // value id -> an integer constant that steers a movement op (Slice's starts/ends/axes/steps,
  // Expand's shape, Tile's repeats, Split's sizes): read at generation time, never loaded.
  std::map<int, std::vector<int64_t>> intConstants;
  // Strided views: an input (or attention's output) held in memory as a view of its buffer
  // rather than row-major: a Split or Slice, a transpose, a reshape, an expand of it, read in
  // place (readsViews says which inputs a kernel honours them for; generateKernel refuses
  // the rest). value id -> element strides per dim (an attention body writes its output
  // through its transpose so too); absent: contiguous row-major.
  std::map<int, std::vector<int64_t>> strides;
  // value id -> where such a view starts in its buffer, in elements; absent: 0.
  std::map<int, int64_t> offsets;
  // value id -> per dim, the number of consecutive indices that share one element (a head
  // repeated for grouped-query attention: index i is at (i / divisor) * stride); absent: 1.
  std::map<int, std::vector<int64_t>> divisors;
  int64_t opset = 17;

  int addValue(DType dtype, Shape shape) {
    values.push_back({dtype, std::move(shape)});
    return int(values.size()) - 1;
  }
};

} // namespace plumb::cuda
