// The reference interpreter's kernel interface: one plain C++ function per ONNX op,
// called with ONNX-positional inputs and ONNX attributes. MLIR-free.
#pragma once

#include "runtime/Error.h"
#include "runtime/Tensor.h"

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace plumb::ref {

// The precision a run computes in. F32: float tensors compute in f32 (f16/bf16 inputs are
// widened to f32 before a kernel sees them, results narrowed back by the walker); f64
// tensors stay f64. F64: every float tensor is widened to f64 (the "truth" run).
enum class Precision { F32, F64 };

// One ONNX attribute value.
struct AttrValue {
  enum class Kind { Int, Float, String, Ints, Floats, Strings, Tensor };
  Kind kind = Kind::Int;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  plumb::Tensor t;
};

// A node's attributes by ONNX name. Getters with a default return it when absent; the
// `require*` getters throw plumb::Error naming the attribute.
class Attrs {
public:
  void set(const std::string &name, AttrValue v) { map_[name] = std::move(v); }
  bool has(const std::string &name) const { return map_.count(name) != 0; }
  const AttrValue *find(const std::string &name) const;
  const std::map<std::string, AttrValue> &all() const { return map_; }

  int64_t getInt(const std::string &name, int64_t def) const;
  double getFloat(const std::string &name, double def) const;
  std::string getString(const std::string &name, const std::string &def) const;
  std::vector<int64_t> getInts(const std::string &name, std::vector<int64_t> def = {}) const;
  std::vector<double> getFloats(const std::string &name, std::vector<double> def = {}) const;
  const plumb::Tensor *getTensor(const std::string &name) const;

  int64_t requireInt(const std::string &name) const;
  std::vector<int64_t> requireInts(const std::string &name) const;

private:
  std::map<std::string, AttrValue> map_;
};

// Everything a kernel is called with.
struct KernelCall {
  std::string opType;   // ONNX op type, e.g. "Conv"
  std::string nodeName; // for error messages
  int64_t opset = 17;   // ai.onnx opset of the model
  // ONNX-positional inputs; nullptr marks an absent optional input. May be shorter than
  // the op's full input list when trailing optional inputs are absent.
  std::vector<const plumb::Tensor *> inputs;
  const Attrs *attrs = nullptr;
  Precision precision = Precision::F32;
  size_t numOutputs = 1; // how many outputs the node declares (e.g. Split, TopK, Dropout)

  size_t numInputs() const { return inputs.size(); }
  // Optional input i, or nullptr.
  const plumb::Tensor *input(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
  // Required input i; throws (via fail) when absent.
  const plumb::Tensor &in(size_t i) const;
  const Attrs &attr() const { return *attrs; }
  // The element type a kernel should produce for a float type named by the model (Cast's
  // `to`, ConstantOfShape's value...): f64 in an F64 run, the type itself otherwise.
  DType floatOut(DType t) const {
    return precision == Precision::F64 && isFloat(t) ? DType::F64 : t;
  }
  // Throw plumb::Error("node 'NAME' (OpType): MSG").
  [[noreturn]] void fail(const std::string &msg) const;
};

using KernelFn = std::function<std::vector<plumb::Tensor>(const KernelCall &)>;

// The kernel table, keyed by ONNX op type (default domain).
class KernelRegistry {
public:
  static KernelRegistry &instance(); // all kernels registered on first use
  void add(const std::string &opType, KernelFn fn) { table_[opType] = std::move(fn); }
  const KernelFn *find(std::string_view opType) const;
  std::vector<std::string> opTypes() const;

private:
  std::map<std::string, KernelFn, std::less<>> table_;
};

// Run one kernel: widens f16/bf16 (and, in F64 runs, f32) inputs per `call.precision`,
// calls the kernel and checks it produced `call.numOutputs` tensors.
std::vector<plumb::Tensor> runKernel(const KernelCall &call);

// ONNX Slice on one axis of length `dim` with a non-zero `step`: clamps start and end as the
// spec says (and caps the step at the axis length), so that element i of the slice is input
// index start + i * step; returns the slice length. Shared with the CPU backend's cpu.slice.
int64_t sliceAxis(int64_t dim, int64_t &start, int64_t end, int64_t &step);
// ONNX Pad in mode "edge", "reflect" or "wrap" on an axis of length `len` > 0: the index in
// [0, len) that padded position j (outside that range) copies; -1 for any other mode. Shared
// with the CPU backend's cpu.pad.
int64_t padSourceIndex(const std::string &mode, int64_t j, int64_t len);

// ONNX Resize/Upsample as separable taps: per axis and output coordinate, the input indices
// and their weights (an output element is the sum over every combination of one tap per axis
// of the weights' product times that input element), or `outside` (a tf_crop_and_resize
// sample off the input, which takes extrapolation_value). `call` holds the op's attrs and its
// roi/scales/sizes inputs; of input 0 only the shape `in` is read. Fails like the kernel.
// Shared with the CUDA backend's generated resize.
struct ResizeTaps {
  struct Axis {
    std::vector<std::vector<int64_t>> index; // per output coordinate
    std::vector<std::vector<double>> weight;
    std::vector<bool> outside;
    bool resized = false; // false: index = coordinate, weight 1
  };
  std::vector<Axis> axes;
  Shape outShape;
  double extrapolation = 0;
};
ResizeTaps resizeTaps(const KernelCall &call, const Shape &in);

// Per-family registration functions (kernels/*.cpp); KernelRegistry::instance() calls them.
void registerElementwiseKernels(KernelRegistry &r); // unary/binary math, activations, compare, logic, Where, Cast, Clip
void registerReductionKernels(KernelRegistry &r);   // Reduce*, ArgMax/ArgMin, CumSum, Softmax/LogSoftmax, TopK
void registerNormKernels(KernelRegistry &r);        // BatchNorm, LayerNorm, InstanceNorm, GroupNorm, RMSNorm, Dropout
void registerLinalgKernels(KernelRegistry &r);      // MatMul, Gemm, Einsum
void registerConvPoolKernels(KernelRegistry &r);    // Conv, ConvTranspose, pools, Pad
void registerResizeKernels(KernelRegistry &r);      // Resize, Upsample
void registerShapeKernels(KernelRegistry &r);       // Reshape, Transpose, Slice, Concat, Split, Squeeze, ...
void registerIndexKernels(KernelRegistry &r);       // Gather, GatherElements, ScatterND, Trilu, Range, Tile, Expand, ...
void registerLossKernels(KernelRegistry &r);        // NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
void registerRecurrentKernels(KernelRegistry &r);   // RNN, GRU, LSTM
void registerQuantizeKernels(KernelRegistry &r);    // Quantize/DequantizeLinear, MatMulInteger, QLinearConv, ...
void registerSignalKernels(KernelRegistry &r);      // DFT, STFT, Hann/Hamming/BlackmanWindow, MelWeightMatrix
void registerDetectionKernels(KernelRegistry &r);   // NonMaxSuppression, RoiAlign, GridSample
void registerAttentionKernels(KernelRegistry &r);   // Attention, RotaryEmbedding
void registerTrainingKernels(KernelRegistry &r);    // Adagrad, Adam, Momentum (ai.onnx.preview.training)
void registerImageKernels(KernelRegistry &r);       // CenterCropPad, Col2Im, AffineGrid, DeformConv
void registerMiscKernels(KernelRegistry &r);        // LRN, Shrink, Det, ReverseSequence, MaxUnpool, Unique, TfIdfVectorizer

} // namespace plumb::ref
