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
  // value id -> element strides of an input or output held in memory as a strided view of
  // its buffer (an attention body reading Q/K/V through a head transpose, writing its output
  // through one; an Einsum reading its operands through reshapes, expands and transposes);
  // absent: contiguous row-major. Only the attention and Einsum generators honour it.
  std::map<int, std::vector<int64_t>> strides;
  // value id -> where such a view starts in its buffer, in elements (Q/K/V read through a
  // Split or Slice of a fused QKV projection); absent: 0. Only the attention and Einsum
  // generators honour it.
  std::map<int, int64_t> offsets;
  // value id -> per dim, the number of consecutive indices that share one element (a head
  // repeated for grouped-query attention: index i is at (i / divisor) * stride); absent: 1.
  // Only the attention generator (on batch dims) and the Einsum generator honour it.
  std::map<int, std::vector<int64_t>> divisors;
  int64_t opset = 17;

  int addValue(DType dtype, Shape shape) {
    values.push_back({dtype, std::move(shape)});
    return int(values.size()) - 1;
  }
};

} // namespace plumb::cuda
