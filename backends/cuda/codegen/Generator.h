// The CUDA kernel generator: walks a fusion body (KernelGraph) and writes one CUDA C++
// kernel for it. Three shapes of kernel come out of the same walk:
//   elementwise  every op is elementwise (numpy broadcasting): one thread per output element;
//                with Transpose/Slice/Concat/Expand/Tile/reshapes among them too (composite,
//                isComposite), each value computed at the coordinates its readers map to;
//   row          the body also reduces rows, a row being the trailing dims [a, rank)
//                (ReduceMean/Sum/Max/Min with keepdims over exactly those axes, Softmax and
//                LogSoftmax over the last axis, or from their axis on before opset 13): one
//                block per row, one pass over the row per reduction (recomputing the
//                elementwise ops feeding it), then the outputs; LayerNorm, RMSNorm,
//                InstanceNorm, GroupNorm and Softmax bodies are of this shape;
//   movement     one data-movement op (Transpose, Slice, Concat, Gather, GatherElements,
//                GatherND, Expand, Tile, Split,
//                Pad): one thread per output element, its source element's offset computed
//                from its coordinates;
//   window       one pool (one thread per output element over its window), CumSum (one
//                thread per line), Einsum (one thread per output element, summed labels
//                looped), Resize (one thread per output element over the tap tables the
//                lowering stored in the node's "taps.*" attrs, ref::resizeTaps) or
//                ArgMax/ArgMin (one thread per output element scanning its line) or TopK
//                with a constant K (one thread per input element counting the elements
//                ordered before it, up to K, and writing itself at that rank) or ScatterND
//                (one thread per output element applying, in order, the updates whose
//                index tuple names its slice);
//   attention    MatMul(Q, K^T) -> elementwise score ops (scale, mask) -> Softmax -> MatMul(., V):
//                a flash-attention-style kernel (key tiles in shared memory, online softmax,
//                f32 accumulation whatever the storage type), the score ops generated from
//                the body.
// The source depends only on the body (ops, shapes, dtypes, constants), never on names, so
// identical layers share one compiled kernel.
#pragma once

#include "backends/cuda/codegen/KernelIR.h"

#include <array>
#include <string>

namespace plumb::cuda {

struct GeneratedKernel {
  std::string style;                // "elementwise", "row" or "attention"
  std::string source;               // CUDA C++, one extern "C" __global__ function
  std::string entry = "plumb_kernel";
  std::array<int64_t, 3> grid{1, 1, 1}, block{1, 1, 1};
  int64_t sharedBytes = 0;          // dynamic shared memory (static arrays are in the source)
  // Parameters are the graph's inputs then its outputs, each a device pointer; then, when
  // indexChecks (checksIndices), `int *plumb_status, int plumb_step`.
  bool indexChecks = false;
};

// Throws plumb::Error ("cuda codegen: ...", naming the node and fusion) when the body holds
// an op the generator has no rule for, or shapes it cannot handle.
GeneratedKernel generateKernel(const KernelGraph &g);

// Which style generateKernel would pick (without generating); throws like it.
std::string kernelStyle(const KernelGraph &g);

// Ops the row kernel reduces over trailing axes.
bool isRowReduction(const std::string &op);
// Whole ops the row kernel also takes, expanded into their ONNX definition first:
// LayerNormalization and RMSNormalization (any axis), InstanceNormalization and
// GroupNormalization (x, and the elementwise ops' values around it, viewed as [N, G, C/G,
// spatial...]; one per kernel).
bool isRowOp(const std::string &op);

// Data-movement ops generated as a "movement" kernel (Movement.cpp): a body of one such op,
// one thread per output element copying the source element in its storage type. Transpose,
// Slice, Concat, Gather, GatherElements, GatherND, Expand, Tile, Split, Pad.
bool isMovement(const std::string &op);
// Ops generated as a "window" kernel (Movement.cpp), also a body of one op: MaxPool,
// AveragePool, GlobalMaxPool, GlobalAveragePool (one thread per output element walking its
// window), CumSum (one thread per line along the axis; its axis must be a constant),
// Einsum (one thread per output element looping over the summed labels; no ellipsis),
// Resize, ArgMax/ArgMin, TopK (K must be a constant), ScatterND and ScatterElements.
bool isWindowOp(const std::string &op);
// Whether the kernel of `g` checks run-time indices (a Gather, GatherElements, GatherND,
// ScatterND, ScatterElements or Scatter; TensorScatter's linear write positions, RoiAlign's
// batch indices): an index outside [-dim, dim) (the range), which ONNX refuses,
// makes it store its step number (plumb_step, 1-based) in *plumb_status unless a step did
// before, for the runtime to report after the run (failIndexCheck); a gather writes NaN (0
// for integers) there, a scatter skips that update.
bool checksIndices(const KernelGraph &g);
// Window ops whose kernel also computes elementwise ops before it, each where it loads the
// element (ValueWriter): Einsum and CumSum. Their body is those ops, then the window op.
inline bool takesPrologue(const std::string &op) { return op == "Einsum" || op == "CumSum"; }
// Resize, or the Upsample it replaced (opset 7-9 models: YOLOv3 exports): one sampling kernel
// from the taps the reference computes for either.
inline bool isResample(const std::string &op) { return op == "Resize" || op == "Upsample"; }
// Movement a composite kernel reads through (Composite.cpp): Transpose, Slice, Concat, Expand,
// Tile, Pad (constant mode, a constant fill) and the reshapes (Reshape, Flatten, Squeeze,
// Unsqueeze, Identity).
bool isComposableMovement(const std::string &op);
// Whether `g` is a composite body: elementwise ops and composable movement, at least one of
// them movement, not one movement op alone (a movement kernel). Generated in the
// "elementwise" style: one thread per output element, each value computed at the
// coordinates its readers map the element to.
bool isComposite(const KernelGraph &g);

// Whether operand `index` of `op` steers the kernel rather than being data it loads: read when
// the kernel is generated, so it must be a constant. Slice's starts/ends/axes/steps, Expand's
// shape, Tile's repeats, Split's sizes, Pad's pads and axes, Reshape's shape, Squeeze's and
// Unsqueeze's axes, CumSum's axis, TopK's K and a row reduction's axes are integer constants (KernelGraph::intConstants); Resize's roi,
// scales and sizes become the tap tables in its node's attrs.
bool steeringOperand(const std::string &op, size_t index);

// Whether the kernel generated for `g` reads input value `input` through its strided view
// (KernelGraph::strides, offsets, divisors) when it has one: attention its Q, K and V;
// elementwise, composite and row kernels every input (but a Group/InstanceNormalization,
// which views x per group or channel itself); movement kernels their data operand (every
// piece of a Concat); Einsum every operand; CumSum its data. The other window ops read their
// inputs contiguously. The lowering gives views only where this holds, and generateKernel
// refuses a view anywhere else.
bool readsViews(const KernelGraph &g, int input);

} // namespace plumb::cuda
