// generateKernel: picks the kernel style from the body's ops and writes the elementwise and
// row kernels (attention is in Attention.cpp).
#include "backends/cuda/codegen/Generator.h"

#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/Writer.h"
#include "backends/reference/AttrValues.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace plumb::cuda {

GeneratedKernel generateAttention(const KernelGraph &g); // Attention.cpp
GeneratedKernel generateMovement(const KernelGraph &g);  // Movement.cpp
bool attentionReadsView(const KernelGraph &g, int v);   // Attention.cpp
GeneratedKernel generateComposite(const KernelGraph &g); // Composite.cpp

bool isRowReduction(const std::string &op) {
  return op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin" ||
         op == "ReduceProd";
}

namespace {

// Ops expanded into row reductions and elementwise ops (expandSoftmax).
bool isSoftmax(const std::string &op) {
  return op == "Softmax" || op == "LogSoftmax" || op == "ReduceLogSumExp";
}

// Rows are the contiguous trailing dims of a tensor: a Reduce* node may reduce axes
// [a, rank) (all of them when it has none), Softmax/LogSoftmax its axis when it is the last
// (opset >= 13) or, before opset 13, the dims from its axis on (they flattened them). Returns
// a, normalised; throws (codegen error) for any other set of axes.
int64_t rowAxisOf(const KernelGraph &g, const KNode &n) {
  const Shape &in = g.values[size_t(n.operands[0])].shape;
  int64_t rank = int64_t(in.size());
  std::vector<int64_t> axes;
  if (n.op == "Softmax" || n.op == "LogSoftmax") {
    int64_t a = n.attrs.getInt("axis", g.opset >= 13 ? -1 : 1);
    a = a < 0 ? a + rank : a;
    if (g.opset < 13 && a >= 0 && a < rank)
      return a;
    axes = {a};
  } else {
    axes = n.attrs.getInts("axes");
    if (axes.empty() && n.operands.size() > 1 && n.operands[1] >= 0) {
      if (auto s = g.scalars.find(n.operands[1]); s != g.scalars.end())
        axes = {int64_t(s->second)};
      else if (auto c = g.intConstants.find(n.operands[1]); c != g.intConstants.end())
        axes = c->second;
      else
        codegenError(g, "node '" + n.name + "' (" + n.op + ") has non-constant axes");
    }
    if (n.attrs.getInt("keepdims", 1) != 1)
      codegenError(g, "node '" + n.name + "' (" + n.op + ") drops the reduced axis (keepdims=0)");
    if (axes.empty()) {
      if (n.attrs.getInt("noop_with_empty_axes", 0))
        codegenError(g, "node '" + n.name + "' (" + n.op + ") reduces nothing (noop_with_empty_axes)");
      return 0;
    }
  }
  for (int64_t &a : axes)
    a = a < 0 ? a + rank : a;
  std::sort(axes.begin(), axes.end());
  bool trailing = rank > 0 && axes.back() == rank - 1;
  for (size_t i = 0; trailing && i < axes.size(); ++i)
    trailing = axes[i] == rank - int64_t(axes.size()) + int64_t(i);
  if (!trailing)
    codegenError(g, "node '" + n.name + "' (" + n.op +
                        ") reduces other than trailing axes; generated kernels reduce rows only");
  return axes.front();
}

// `shape` with its last `trailing` dims set to 1: a per-row tensor.
Shape perRow(Shape shape, size_t trailing) {
  for (size_t k = shape.size() - std::min(trailing, shape.size()); k < shape.size(); ++k)
    shape[k] = 1;
  return shape;
}

// Appends a node of an expansion (named after the node it expands; a reduction is over the
// last `trailing` axes) and returns its result.
int appendNode(KernelGraph &g, const std::string &name, const std::string &op,
               std::vector<int> operands, int result, size_t trailing = 1) {
  KNode k;
  k.op = op;
  k.name = name;
  k.operands = std::move(operands);
  k.results = {result};
  if (isRowReduction(op)) {
    std::vector<int64_t> axes;
    for (size_t i = trailing; i > 0; --i)
      axes.push_back(-int64_t(i));
    k.attrs.set("axes", ref::intsAttr(std::move(axes)));
  }
  g.nodes.push_back(std::move(k));
  return result;
}

// Softmax/LogSoftmax become max, exp and sum reductions plus elementwise ops, so the row
// kernel only knows five reductions. ReduceLogSumExp likewise, as the reference computes it:
// m + log(sum(exp(x - m))) with m the row's maximum, or 0 where that is not finite (a row
// of -inf gives log(0) = -inf, a +inf or NaN propagates).
KernelGraph expandSoftmax(const KernelGraph &in) {
  KernelGraph g = in;
  g.nodes.clear();
  for (const KNode &n : in.nodes) {
    if (!isSoftmax(n.op)) {
      g.nodes.push_back(n);
      continue;
    }
    int x = n.operands[0];
    KValue xv = in.values[size_t(x)];
    size_t trailing = xv.shape.size() - size_t(rowAxisOf(in, n));
    Shape rowShape = perRow(xv.shape, trailing);
    auto node = [&](const std::string &op, std::vector<int> operands, int result) {
      return appendNode(g, n.name, op, std::move(operands), result, trailing);
    };
    int m = node("ReduceMax", {x}, g.addValue(xv.dtype, rowShape));
    if (n.op == "ReduceLogSumExp") {
      int zero = g.addValue(xv.dtype, {});
      g.scalars[zero] = 0.0;
      int inf = node("IsInf", {m}, g.addValue(DType::Bool, rowShape));
      int shift = node("Where", {inf, zero, m}, g.addValue(xv.dtype, rowShape));
      int ex = node("Exp", {node("Sub", {x, shift}, g.addValue(xv.dtype, xv.shape))},
                    g.addValue(xv.dtype, xv.shape));
      int s = node("ReduceSum", {ex}, g.addValue(xv.dtype, rowShape));
      node("Add", {node("Log", {s}, g.addValue(xv.dtype, rowShape)), shift}, n.results[0]);
      continue;
    }
    int d = node("Sub", {x, m}, g.addValue(xv.dtype, xv.shape));
    int ex = node("Exp", {d}, g.addValue(xv.dtype, xv.shape));
    int s = node("ReduceSum", {ex}, g.addValue(xv.dtype, rowShape));
    if (n.op == "Softmax") {
      node("Div", {ex, s}, n.results[0]);
    } else {
      int ls = node("Log", {s}, g.addValue(xv.dtype, rowShape));
      node("Sub", {d, ls}, n.results[0]);
    }
  }
  return g;
}

bool isNorm(const std::string &op) {
  return op == "LayerNormalization" || op == "RMSNormalization" ||
         op == "InstanceNormalization" || op == "GroupNormalization";
}

// Declares graph input `v` of `g` (a scale or bias read only by `n`) with `shape`, the same
// elements viewed so that they broadcast against the normalised tensor.
void viewInput(KernelGraph &g, const KNode &n, int v, Shape shape) {
  bool input = std::find(g.inputs.begin(), g.inputs.end(), v) != g.inputs.end();
  bool shared = std::any_of(g.nodes.begin(), g.nodes.end(), [&](const KNode &o) {
    return &o != &n && std::find(o.operands.begin(), o.operands.end(), v) != o.operands.end();
  });
  if (!input || shared || numElements(g.values[size_t(v)].shape) != numElements(shape))
    codegenError(g, "node '" + n.name + "' (" + n.op + ") takes a scale or bias that is not a "
                    "kernel input of its own");
  g.values[size_t(v)].shape = std::move(shape);
}

// A GroupNormalization's kernel sees its tensors with C split into [G, C/G]: x as [N, G, C/G,
// spatial...] (a row is a group), and the values of the elementwise ops before and after it
// (a residual Add, SiLU) alike, right-aligned against x's rank; a value broadcast along C
// (a 1 there) gets a 1 for each half. The memory order is unchanged: the kernel's inputs are
// contiguous (readsViews), so each is read as it is stored. One GroupNormalization per kernel.
void groupChannels(KernelGraph &g, const KNode &n) {
  int x = n.operands.at(0);
  Shape xs = g.values[size_t(x)].shape;
  if (xs.size() < 3)
    codegenError(g, "node '" + n.name + "' (GroupNormalization) takes [N, C, spatial...]");
  int64_t c = xs[1], groups = n.attrs.getInt("num_groups", 0);
  if (groups <= 0 || c % groups != 0)
    codegenError(g, "node '" + n.name + "' (GroupNormalization): num_groups must divide C");
  std::set<int> own(n.operands.begin() + 1, n.operands.end()); // scale, bias: viewInput
  for (size_t v = 0; v < g.values.size(); ++v) {
    Shape s = g.values[v].shape;
    if (s.empty() || own.count(int(v)) || g.intConstants.count(int(v)))
      continue;
    if (s.size() > xs.size())
      codegenError(g, "a value of rank " + std::to_string(s.size()) + " in the kernel of node '" +
                          n.name + "' (GroupNormalization) over rank " +
                          std::to_string(xs.size()));
    s.insert(s.begin(), xs.size() - s.size(), 1);
    if (s[1] != c && s[1] != 1)
      codegenError(g, "a value of shape " + shapeToString(g.values[v].shape) +
                          " in the kernel of node '" + n.name +
                          "' (GroupNormalization) is not per channel");
    Shape grouped = {s[0], s[1] == 1 ? 1 : groups, s[1] == 1 ? 1 : c / groups};
    grouped.insert(grouped.end(), s.begin() + 2, s.end());
    g.values[v].shape = grouped;
  }
}

// The norms become the ops of their ONNX definition (mean, deviation, variance, epsilon,
// square root, scale, bias) over rows of trailing dims, so a row kernel computes them with two
// reductions (one for RMS): LayerNormalization/RMSNormalization over dims [axis, rank),
// InstanceNormalization over the spatial dims, GroupNormalization over (channels of a group ×
// spatial) by viewing x as [N, G, C/G, spatial...] (groupChannels: with the elementwise ops
// before and after it; scale and bias viewed per channel, or per group before opset 21).
// Their optional Mean/InvStdDev results must be unused.
KernelGraph expandNorms(const KernelGraph &in) {
  KernelGraph g = in;
  g.nodes.clear();
  const KNode *grouped = nullptr;
  for (const KNode &n : in.nodes)
    if (n.op == "GroupNormalization") {
      if (grouped)
        codegenError(in, "nodes '" + grouped->name + "' and '" + n.name +
                             "' (GroupNormalization) each view the kernel's tensors per group: "
                             "they take a kernel each");
      grouped = &n;
    }
  if (grouped)
    groupChannels(g, *grouped);
  for (const KNode &n : in.nodes) {
    if (!isNorm(n.op)) {
      g.nodes.push_back(n);
      continue;
    }
    int x = n.operands.at(0);
    Shape xs = g.values[size_t(x)].shape; // a GroupNormalization's grouped already
    DType xt = in.values[size_t(x)].dtype;
    int64_t rank = int64_t(xs.size());
    for (size_t r = 1; r < n.results.size(); ++r)
      if (std::find(in.outputs.begin(), in.outputs.end(), n.results[r]) != in.outputs.end())
        codegenError(in, "node '" + n.name + "' (" + n.op + ") has its statistics outputs used");
    int scale = n.operands.at(1), bias = n.operands.size() > 2 ? n.operands[2] : -1;
    size_t trailing = 0;
    if (n.op == "LayerNormalization" || n.op == "RMSNormalization") {
      int64_t axis = n.attrs.getInt("axis", -1);
      axis = axis < 0 ? axis + rank : axis;
      if (rank == 0 || axis < 0 || axis >= rank)
        codegenError(in, "node '" + n.name + "' (" + n.op + ") has axis out of range");
      trailing = size_t(rank - axis);
    } else {
      if (rank < 3)
        codegenError(in, "node '" + n.name + "' (" + n.op + ") takes [N, C, spatial...]");
      int64_t c = xs[1];
      Shape ones(size_t(rank - 2), 1);
      if (n.op == "InstanceNormalization") {
        trailing = size_t(rank - 2);
        Shape perChannel = {c};
        perChannel.insert(perChannel.end(), ones.begin(), ones.end());
        viewInput(g, n, scale, perChannel);
        viewInput(g, n, bias, perChannel);
      } else { // x is [N, G, C/G, spatial...]: a row is a group's channels and spatial dims
        trailing = size_t(rank - 2);
        // One scale per channel from opset 21, one per group before (as the reference).
        Shape view = {xs[1], in.opset >= 21 ? xs[2] : 1};
        view.insert(view.end(), size_t(rank - 3), 1);
        viewInput(g, n, scale, view);
        viewInput(g, n, bias, view);
      }
    }
    Shape rowShape = perRow(xs, trailing);
    auto node = [&](const std::string &op, std::vector<int> operands, int result) {
      return appendNode(g, n.name, op, std::move(operands), result, trailing);
    };
    auto row = [&] { return g.addValue(xt, rowShape); };
    auto full = [&] { return g.addValue(xt, xs); };
    int eps = g.addValue(xt, {});
    g.scalars[eps] = n.attrs.getFloat("epsilon", 1e-5);
    int centred = x;
    if (n.op != "RMSNormalization")
      centred = node("Sub", {x, node("ReduceMean", {x}, row())}, full());
    int var = node("ReduceMean", {node("Mul", {centred, centred}, full())}, row());
    int sd = node("Sqrt", {node("Add", {var, eps}, row())}, row());
    int normed = node("Div", {centred, sd}, full());
    if (bias < 0) {
      node("Mul", {normed, scale}, n.results[0]);
    } else {
      node("Add", {node("Mul", {normed, scale}, full()), bias}, n.results[0]);
    }
  }
  return g;
}

bool hasOp(const KernelGraph &g, bool (*pred)(const std::string &)) {
  return std::any_of(g.nodes.begin(), g.nodes.end(), [&](const KNode &n) { return pred(n.op); });
}

bool isMatMul(const std::string &op) { return op == "MatMul"; }

void checkOps(const KernelGraph &g) {
  for (const KNode &n : g.nodes)
    if (!isSupportedElementwise(n.op) && !isRowReduction(n.op) && !isSoftmax(n.op) &&
        !isNorm(n.op))
      codegenError(g, "node '" + n.name + "' (" + n.op + ") has no CUDA kernel generator rule");
}

Shape iterationShape(const KernelGraph &g) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < g.values.size(); ++i)
    if (!g.intConstants.count(int(i))) // steering operands (axes) are not iterated over
      shapes.push_back(g.values[i].shape);
  return broadcastAll(g, shapes);
}

const char *kReducePrelude = R"(
template <class T> __device__ T plumb_combine(int op, T a, T b) {
  // 0 sum, 1 max, 2 min, 3 product; a NaN on either side wins for max/min, as in the
  // reference.
  if (op == 0) return a + b;
  if (op == 3) return a * b;
  if (a != a) return a;
  if (b != b) return b;
  return op == 1 ? (a > b ? a : b) : (a < b ? a : b);
}
template <class T> __device__ T plumb_block_reduce(int op, T v, T *smem) {
  for (int o = 16; o > 0; o >>= 1) v = plumb_combine(op, v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  if (warp == 0) {
    // Lanes past the last warp hold the identity: 0 for a sum, 1 for a product, any partial
    // for max/min.
    v = lane < warps ? smem[lane] : op == 0 ? T(0) : op == 3 ? T(1) : smem[0];
    for (int o = 16; o > 0; o >>= 1) v = plumb_combine(op, v, __shfl_xor_sync(0xffffffffu, v, o));
    if (lane == 0) smem[0] = v;
  }
  __syncthreads();
  return smem[0];
}
)";

GeneratedKernel generateElementwise(const KernelGraph &g) {
  GeneratedKernel k;
  k.style = "elementwise";
  Shape iter = iterationShape(g);
  for (int o : g.outputs)
    if (g.values[size_t(o)].shape != iter)
      codegenError(g, "output of shape " + shapeToString(g.values[size_t(o)].shape) +
                          " is smaller than the iteration space " + shapeToString(iter));
  int64_t n = numElements(iter);
  ElementWriter w(g, iter);
  std::ostringstream os;
  os << includes(g) << "extern \"C\" __global__ void plumb_kernel(" << paramList(g) << ") {\n"
     << "  for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < " << n
     << "LL; e += (long long)gridDim.x * blockDim.x) {\n";
  w.emit(os, g.outputs, "    ");
  for (size_t k2 = 0; k2 < g.outputs.size(); ++k2) {
    int o = g.outputs[k2];
    os << "    out" << k2 << "[e] = " << storeAs(g.values[size_t(o)].dtype, w.name(o)) << ";\n";
  }
  os << "  }\n}\n";
  k.source = os.str();
  k.block = {256, 1, 1};
  k.grid = {std::max<int64_t>(1, std::min<int64_t>((n + 255) / 256, 65536)), 1, 1};
  return k;
}

int reduceOpCode(const std::string &op) { // plumb_combine's op
  return op == "ReduceMax" ? 1 : op == "ReduceMin" ? 2 : op == "ReduceProd" ? 3 : 0;
}

// The reduction's identity, its value over no elements.
std::string reduceInit(const KernelGraph &g, const KNode &n) {
  int op = reduceOpCode(n.op);
  if (g.values[size_t(n.results[0])].dtype == DType::Bool) // ReduceMax: any; ReduceMin: all
    return op == 2 || op == 3 ? "1" : "0";
  return op == 0   ? "0"
         : op == 3 ? "1"
                   : literal(g.values[size_t(n.results[0])].dtype, op == 1 ? -INFINITY : INFINITY);
}

// Rows of no elements (a reduced axis of size 0, as in ONNX's empty-set cases): a thread per
// row, each reduction its identity (ReduceMean 0 / 0, NaN as in the reference), and only the
// per-row outputs have elements to write.
GeneratedKernel generateEmptyRows(const KernelGraph &g, const Shape &rowShape) {
  GeneratedKernel k;
  k.style = "row";
  int64_t rows = numElements(rowShape);
  ElementWriter w(g, rowShape, "row");
  std::ostringstream os;
  os << includes(g) << "extern \"C\" __global__ void plumb_kernel(" << paramList(g) << ") {\n"
     << "  for (long long row = blockIdx.x * (long long)blockDim.x + threadIdx.x; row < " << rows
     << "LL; row += (long long)gridDim.x * blockDim.x) {\n";
  for (const KNode &n : g.nodes) {
    if (!isRowReduction(n.op))
      continue;
    int r = n.results[0];
    std::string ct = computeType(g.values[size_t(r)].dtype);
    os << "    " << ct << " v" << r << " = " << reduceInit(g, n) << ";\n";
    if (n.op == "ReduceMean")
      os << "    v" << r << " = v" << r << " / (" << ct << ")0;\n";
    w.bind(r, "v" + std::to_string(r));
  }
  std::vector<int> perRowOutputs;
  for (int o : g.outputs)
    if (g.values[size_t(o)].shape == rowShape)
      perRowOutputs.push_back(o);
  w.emit(os, perRowOutputs, "    ");
  for (size_t k2 = 0; k2 < g.outputs.size(); ++k2) {
    const KValue &v = g.values[size_t(g.outputs[k2])];
    if (v.shape == rowShape)
      os << "    out" << k2 << "[row] = " << storeAs(v.dtype, w.name(g.outputs[k2])) << ";\n";
  }
  os << "  }\n}\n";
  k.source = os.str();
  k.block = {256, 1, 1};
  k.grid = {std::max<int64_t>(1, std::min<int64_t>((rows + 255) / 256, 65536)), 1, 1};
  return k;
}

GeneratedKernel generateRow(const KernelGraph &g) {
  GeneratedKernel k;
  k.style = "row";
  Shape iter = iterationShape(g);
  if (iter.empty())
    codegenError(g, "a row reduction over a scalar");
  // Rows are the trailing dims the reductions reduce (rowAxisOf): all reductions of one
  // kernel must reduce the same ones.
  size_t trailing = 0;
  for (const KNode &n : g.nodes) {
    if (!isRowReduction(n.op))
      continue;
    const Shape &in = g.values[size_t(n.operands[0])].shape;
    size_t t = in.size() - size_t(rowAxisOf(g, n));
    if (trailing != 0 && t != trailing)
      codegenError(g, "node '" + n.name + "' reduces " + std::to_string(t) +
                          " trailing dims in a kernel whose rows span " + std::to_string(trailing));
    trailing = t;
    if (t > iter.size() || !std::equal(in.end() - long(t), in.end(), iter.end() - long(t)))
      codegenError(g, "node '" + n.name + "' reduces rows of " + shapeToString(in) +
                          " in a kernel iterating over " + shapeToString(iter));
  }
  trailing = std::max<size_t>(trailing, 1);
  Shape rowShape = perRow(iter, trailing);
  int64_t rows = numElements(rowShape), d = numElements(iter) / std::max<int64_t>(rows, 1);
  for (int o : g.outputs) {
    const Shape &s = g.values[size_t(o)].shape;
    if (s != iter && s != rowShape)
      codegenError(g, "output of shape " + shapeToString(s) + " is neither a row tensor " +
                          shapeToString(iter) + " nor a per-row one " + shapeToString(rowShape));
  }
  if (d == 0)
    return generateEmptyRows(g, rowShape);
  int64_t block = 32;
  while (block < d && block < 256)
    block *= 2;
  ElementWriter w(g, iter);
  std::ostringstream os;
  os << includes(g) << kReducePrelude << "extern \"C\" __global__ void plumb_kernel("
     << paramList(g) << ") {\n"
     << "  __shared__ double smem_raw[32];\n";
  os << "  for (long long row = blockIdx.x; row < " << rows << "LL; row += gridDim.x) {\n";
  for (const KNode &n : g.nodes) {
    if (!isRowReduction(n.op))
      continue;
    int r = n.results[0], x = n.operands[0];
    // Bools reduce as ints (0 and 1): the warp shuffles have no bool form.
    DType rt = g.values[size_t(r)].dtype;
    std::string ct = rt == DType::Bool ? "int" : computeType(rt);
    int op = reduceOpCode(n.op);
    os << "    " << ct << " v" << r << " = " << reduceInit(g, n) << ";\n"
       << "    for (long long j = threadIdx.x; j < " << d << "LL; j += " << block << ") {\n"
       << "      const long long e = row * " << d << "LL + j;\n";
    w.emit(os, {x}, "      ");
    os << "      v" << r << " = plumb_combine(" << op << ", v" << r << ", (" << ct << ")" << w.name(x)
       << ");\n    }\n"
       << "    v" << r << " = plumb_block_reduce(" << op << ", v" << r << ", (" << ct
       << " *)smem_raw);\n";
    if (n.op == "ReduceMean")
      os << "    v" << r << " = v" << r << " / (" << ct << ")" << d << ";\n";
    w.bind(r, "v" + std::to_string(r));
  }
  os << "    for (long long j = threadIdx.x; j < " << d << "LL; j += " << block << ") {\n"
     << "      const long long e = row * " << d << "LL + j;\n";
  w.emit(os, g.outputs, "      ");
  for (size_t k2 = 0; k2 < g.outputs.size(); ++k2) {
    int o = g.outputs[k2];
    const KValue &v = g.values[size_t(o)];
    std::string store = "out" + std::to_string(k2);
    if (v.shape == iter)
      os << "      " << store << "[e] = " << storeAs(v.dtype, w.name(o)) << ";\n";
    else
      os << "      if (j == 0) " << store << "[row] = " << storeAs(v.dtype, w.name(o)) << ";\n";
  }
  os << "    }\n  }\n}\n";
  k.source = os.str();
  k.block = {block, 1, 1};
  k.grid = {std::max<int64_t>(1, std::min<int64_t>(rows, 1 << 20)), 1, 1};
  return k;
}

} // namespace

bool isRowOp(const std::string &op) { return isRowReduction(op) || isSoftmax(op) || isNorm(op); }

std::string kernelStyle(const KernelGraph &g) {
  if (g.kind == "attention" && hasOp(g, isMatMul))
    return "attention";
  if (g.nodes.size() == 1 && isMovement(g.nodes[0].op))
    return "movement";
  if (g.nodes.size() == 1 && isWindowOp(g.nodes[0].op))
    return "window";
  // An Einsum or CumSum with the elementwise ops (and movement) it computes before it.
  if (g.nodes.size() > 1 && takesPrologue(g.nodes.back().op) &&
      std::all_of(g.nodes.begin(), g.nodes.end() - 1, [](const KNode &n) {
        return n.results.size() == 1 &&
               (isSupportedElementwise(n.op) || isComposableMovement(n.op));
      }))
    return "window";
  if (isComposite(g))
    return "elementwise";
  checkOps(g);
  return hasOp(g, isRowReduction) || hasOp(g, isSoftmax) || hasOp(g, isNorm) ? "row"
                                                                              : "elementwise";
}

bool readsViews(const KernelGraph &g, int input) {
  std::string style = kernelStyle(g);
  if (style == "attention")
    return attentionReadsView(g, input);
  if (style == "elementwise" || style == "row") // every load at its coordinates (ElementWriter)
    return !hasOp(g, [](const std::string &op) {  // but a norm that views x per group/channel
      return op == "GroupNormalization" || op == "InstanceNormalization";
    });
  if (style != "movement" && style != "window")
    return false;
  const KNode &n = g.nodes.back(); // one op, or the op after a prologue (takesPrologue)
  if (n.op == "Einsum" || n.op == "Concat" || g.nodes.size() > 1)
    return true;
  return (isMovement(n.op) || n.op == "CumSum") && !n.operands.empty() && n.operands[0] == input;
}

namespace {

bool hasView(const KernelGraph &g, int v) {
  return g.strides.count(v) || g.offsets.count(v) || g.divisors.count(v);
}

} // namespace

GeneratedKernel generateKernel(const KernelGraph &g) {
  if (g.outputs.empty())
    codegenError(g, "the body has no outputs");
  std::string style = kernelStyle(g);
  for (int v : g.inputs)
    if (hasView(g, v) && !readsViews(g, v)) // the lowering asks readsViews first
      codegenError(g, "internal: a strided view of input " + std::to_string(v) + ", which this " +
                          style + " kernel reads contiguously");
  if (style == "attention")
    return generateAttention(g);
  if (style == "movement" || style == "window")
    return generateMovement(g);
  if (style == "row")
    return generateRow(expandSoftmax(expandNorms(g)));
  return isComposite(g) ? generateComposite(g) : generateElementwise(g);
}

} // namespace plumb::cuda
