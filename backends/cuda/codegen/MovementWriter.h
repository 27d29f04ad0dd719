// Internal to the generator: the writer of movement kernels (Movement.cpp: Transpose, Slice,
// Concat, Gather, GatherElements, GatherND, Expand, Tile, Split, Pad) and window kernels
// (Window.cpp: pools, Einsum, CumSum, TopK, ScatterND, ScatterElements, ArgMax/ArgMin,
// Resize), both a body of one op, but for the elementwise ops an Einsum or CumSum computes
// before it (takesPrologue; its node is the body's last). Each output element (or line, or
// input element) is one thread of a grid-stride loop.
#pragma once

#include "backends/cuda/codegen/KernelIR.h"
#include "backends/cuda/codegen/ValueWriter.h"
#include "backends/cuda/codegen/Writer.h"
#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace plumb::cuda {

// `axis` in [-rank, rank) made non-negative; a codegen error naming the node otherwise.
int64_t normalizeAxis(const KernelGraph &g, const KNode &n, int64_t axis, int64_t rank);

// An integer operand's values: a steering constant, or a one-element constant folded into
// the source; empty for an absent optional operand.
std::vector<int64_t> intOperand(const KernelGraph &g, const KNode &n, size_t index);

// A Pad's leading and trailing pads per dim (its `pads` and `axes` operands, constants; before
// opset 11 its `pads` attribute), and the fill when no constant_value operand gives one (0;
// before opset 11 its `value` attribute).
struct PadSides {
  std::vector<int64_t> begin, end;
  double fill = 0;
};
PadSides padSides(const KernelGraph &g, const KNode &n, int64_t rank);

// The coordinates in operand 0 of the element of `n`'s result at `c`, for the movement ops that
// read one source element at an affine position: Transpose, Expand, Tile and Slice.
std::vector<std::string> sourceCoords(const KernelGraph &g, const KNode &n,
                                      const std::vector<std::string> &c);

// The operands of an integer product (MatMulInteger, ConvInteger; QLinearMatMul,
// QLinearConv): a (or x), b (or w), their zero points and, quantized, their scales; -1 when
// absent.
struct IntegerProduct {
  int a, b, za, zb, sa, sb;
  bool quantized;
};

class MovementWriter {
public:
  explicit MovementWriter(const KernelGraph &g) : g_(g), n_(g.nodes.back()), w_(g, {}) {}

  std::string source();
  int64_t largestOutput() const { return largest_; }
  // Lines a block each (block-parallel ArgMax/ArgMin), 0 when one thread per element.
  int64_t blockRows() const { return blockRows_; }

private:
  int64_t rankOf(int v) const { return int64_t(g_.values[size_t(v)].shape.size()); }
  const Shape &shapeOf(int v) const { return g_.values[size_t(v)].shape; }

  // A grid-stride loop over result `r` (skipped when the graph does not output it), with
  // `inner` writing the statements for one element given the coordinate names.
  template <class F> void loop(int r, F inner) {
    if (w_.paramName(r).empty())
      return;
    const Shape &s = shapeOf(r);
    int64_t n = numElements(s);
    largest_ = std::max(largest_, n);
    std::vector<int64_t> st = ref::stridesOf(s);
    os_ << "  for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < " << n
        << "LL; e += (long long)gridDim.x * blockDim.x) {\n";
    std::vector<std::string> c;
    for (size_t k = 0; k < s.size(); ++k) {
      os_ << "    const long long c" << k << " = (e / " << st[k] << "LL) % " << s[k] << "LL;\n";
      c.push_back("c" + std::to_string(k));
    }
    inner(c);
    os_ << "  }\n";
  }

  void copy(int r, int src, const std::vector<std::string> &srcCoords, const std::string &indent = "    ") {
    os_ << indent << w_.paramName(r) << "[e] = " << w_.paramName(src) << "["
        << viewOffsetOf(g_, src, srcCoords) << "];\n";
  }

  // The movement ops (Movement.cpp).
  void body(const std::vector<std::string> &c);
  void concat(const std::vector<std::string> &c);
  std::string loadIndex(int ix, const std::string &offset, int64_t dim, const std::string &name);
  void copyIndexed(int r, int x, const std::vector<std::string> &src, const std::string &inside);
  void gather(const std::vector<std::string> &c);
  void gatherElements(const std::vector<std::string> &c);
  void gatherND(const std::vector<std::string> &c);
  void pad(const std::vector<std::string> &c);
  void reverseSequence(const std::vector<std::string> &c);
  void tensorScatter(const std::vector<std::string> &c);
  // The window ops (Window.cpp).
  void pool(const std::vector<std::string> &c);
  void lrn(const std::vector<std::string> &c);
  void maxUnpool(const std::vector<std::string> &c);
  // Image and detection ops (Image.cpp).
  void col2Im(const std::vector<std::string> &c);
  void det();
  void roiAlign(const std::vector<std::string> &c);
  void deformConv(const std::vector<std::string> &c);
  // TfIdfVectorizer (Text.cpp).
  void tfIdfTables();
  void tfIdf(const std::vector<std::string> &c);
  void oneHot(const std::vector<std::string> &c);
  void einsum(const std::vector<std::string> &c);
  IntegerProduct integerProduct() const;
  std::string perTensorOr(int v, const std::string &at) const;
  void storeIntegerSum(const std::string &aScale, const std::string &bScale);
  void integerMatMul(const std::vector<std::string> &c);
  void integerConv(const std::vector<std::string> &c);
  void cumSum();
  void topK();
  std::string operandElement(int v, const std::string &i) const;
  std::string scatterCombine(DType t, const std::string &u) const;
  void scatterND();
  void scatterElements(const std::vector<std::string> &c);
  void argExtreme(const std::vector<std::string> &c);
  bool argByBlocks() const;
  void argRows();
  void resizeTables();
  void resize(const std::vector<std::string> &c);
  void gridSamplePrelude();
  void gridSample(const std::vector<std::string> &c);

  const KernelGraph &g_;
  const KNode &n_;
  ElementWriter w_;
  std::vector<size_t> outsideAxes_;
  std::ostringstream os_;
  ValueWriter values_{g_, os_, "pv"}; // an Einsum's or CumSum's operands, prologue computed
  int64_t largest_ = 0;
  int64_t blockRows_ = 0;
};

// ArgMax/ArgMin lines at least this long (and contiguous) run a block per line.
constexpr int64_t kArgBlockLine = 1024;

} // namespace plumb::cuda
