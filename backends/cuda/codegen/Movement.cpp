// Movement kernels: a body of one data-movement op. Each output element is one thread of a
// grid-stride loop; its coordinates are decoded from the flat index, the source element's
// coordinates written per op (Transpose permutes them, Slice offsets and steps them, Expand
// and Tile fold broadcast or repeated dims, Concat picks the input holding the element, Gather
// reads the index tensor, Split offsets each output along the axis, Pad subtracts the leading
// pad and fills outside the data), and the element is copied in its storage type: no
// arithmetic, so f16/bf16 plans move bits unchanged. The window ops share this writer
// (MovementWriter.h) and live in Window.cpp.
#include "backends/cuda/codegen/Generator.h"

#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/MovementWriter.h"
#include "backends/cuda/codegen/Writer.h"
#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

namespace plumb::cuda {

bool isMovement(const std::string &op) {
  static const std::set<std::string> ops = {"Transpose", "Slice",          "Concat",
                                            "Gather",    "GatherElements", "GatherND",
                                            "Expand",    "Tile",           "Split",
                                            "Pad",       "ReverseSequence",
                                            "TensorScatter"};
  return ops.count(op) != 0;
}

bool isWindowOp(const std::string &op) {
  return op == "MaxPool" || op == "AveragePool" || op == "LpPool" || op == "GlobalMaxPool" ||
         op == "GlobalAveragePool" || op == "GlobalLpPool" || op == "CumSum" || op == "Einsum" || op == "Resize" || op == "Upsample" ||
         op == "ArgMax" || op == "ArgMin" || op == "TopK" || op == "ScatterND" ||
         op == "ScatterElements" || op == "Scatter" || op == "GridSample" || op == "LRN" ||
         op == "OneHot" || op == "MatMulInteger" || op == "QLinearMatMul" ||
         op == "ConvInteger" || op == "QLinearConv" || op == "Col2Im" || op == "Det" ||
         op == "RoiAlign" || op == "DeformConv" || op == "MaxUnpool" || op == "TfIdfVectorizer";
}

bool checksIndices(const KernelGraph &g) {
  if (g.nodes.size() != 1)
    return false;
  const std::string &op = g.nodes[0].op;
  return op == "Gather" || op == "GatherElements" || op == "GatherND" || op == "ScatterND" ||
         op == "ScatterElements" || op == "Scatter" || op == "TensorScatter" || op == "RoiAlign";
}

bool steeringOperand(const std::string &op, size_t index) {
  if (index == 0)
    return false;
  if (isMovement(op))
    return !(op == "Concat" ||
             ((op == "Gather" || op == "GatherElements" || op == "GatherND" ||
               op == "ReverseSequence") &&
              index == 1) || // indices, sequence_lens: loaded
             op == "TensorScatter" || // the update and write_indices: loaded
             (op == "Pad" && index == 2)); // Pad's constant_value is loaded
  if (op == "CumSum" || op == "TopK" || isResample(op) || op == "Reshape" || op == "Squeeze" ||
      op == "Unsqueeze")
    return true;
  if (op == "OneHot") // depth: the plan's output shape holds it, so it must not change
    return index == 1;
  if (op == "Col2Im") // image_shape, block_shape
    return true;
  if (op == "MaxUnpool") // output_shape: the plan's output shape holds it
    return index == 2;
  return (isRowReduction(op) || op == "ReduceLogSumExp") && index == 1; // axes
}

// The flat offset into a tensor of `shape` of the element at coordinates `coords`.
std::string offsetOf(const Shape &shape, const std::vector<std::string> &coords) {
  std::vector<int64_t> st = ref::stridesOf(shape);
  std::string e;
  for (size_t k = 0; k < shape.size(); ++k)
    if (shape[k] != 1)
      e += (e.empty() ? "" : " + ") + ("(" + coords[k] + ") * " + std::to_string(st[k]) + "LL");
  return e.empty() ? "0" : e;
}

std::string viewOffsetOf(const KernelGraph &g, int v, const std::vector<std::string> &coords) {
  const Shape &shape = g.values[size_t(v)].shape;
  auto st = g.strides.find(v);
  if (st == g.strides.end())
    return offsetOf(shape, coords);
  auto off = g.offsets.find(v);
  auto div = g.divisors.find(v);
  std::string e = off != g.offsets.end() && off->second != 0 ? std::to_string(off->second) + "LL" : "";
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 1 || st->second.at(k) == 0)
      continue;
    int64_t d = div != g.divisors.end() ? div->second.at(k) : 1;
    std::string c = d != 1 ? "(" + coords[k] + ") / " + std::to_string(d) + "LL" : coords[k];
    e += (e.empty() ? "" : " + ") + ("(" + c + ") * " + std::to_string(st->second[k]) + "LL");
  }
  return e.empty() ? "0" : e;
}

int64_t normalizeAxis(const KernelGraph &g, const KNode &n, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    codegenError(g, "node '" + n.name + "' (" + n.op + ") has axis " + std::to_string(axis) +
                        " outside rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

// An integer operand's values: a steering constant, or a one-element constant folded into
// the source; empty for an absent optional operand.
std::vector<int64_t> intOperand(const KernelGraph &g, const KNode &n, size_t index) {
  if (index >= n.operands.size() || n.operands[index] < 0)
    return {};
  int v = n.operands[index];
  if (auto it = g.intConstants.find(v); it != g.intConstants.end())
    return it->second;
  if (auto it = g.scalars.find(v); it != g.scalars.end())
    return {int64_t(it->second)};
  codegenError(g, "node '" + n.name + "' (" + n.op + ") operand " + std::to_string(index) +
                      " is not a constant");
}

std::string MovementWriter::source() {
  os_ << includes(g_);
  if (isResample(n_.op))
    resizeTables();
  if (n_.op == "GridSample")
    gridSamplePrelude();
  if (n_.op == "TfIdfVectorizer")
    tfIdfTables();
  os_ << "extern \"C\" __global__ void plumb_kernel(" << paramList(g_) << ") {\n";
  if (n_.op == "Split") {
    int64_t axis = normalizeAxis(g_, n_, n_.attrs.getInt("axis", 0), rankOf(n_.operands[0]));
    int64_t offset = 0;
    for (int r : n_.results) {
      loop(r, [&](std::vector<std::string> c) {
        c[size_t(axis)] += " + " + std::to_string(offset) + "LL";
        copy(r, n_.operands[0], c);
      });
      offset += g_.values[size_t(r)].shape[size_t(axis)];
    }
  } else if ((n_.op == "ArgMax" || n_.op == "ArgMin") && argByBlocks()) {
    argRows();
  } else if (n_.op == "CumSum") {
    cumSum();
  } else if (n_.op == "TopK") {
    topK();
  } else if (n_.op == "Det") {
    det();
  } else if (n_.op == "ScatterND") {
    scatterND();
  } else {
    loop(n_.results.at(0), [&](std::vector<std::string> c) { body(c); });
  }
  os_ << "}\n";
  return os_.str();
}

std::vector<std::string> sourceCoords(const KernelGraph &g, const KNode &n,
                                      const std::vector<std::string> &c) {
  const Shape &in = g.values[size_t(n.operands.at(0))].shape;
  const Shape &out = g.values[size_t(n.results.at(0))].shape;
  std::vector<std::string> s(in.size());
  if (n.op == "Transpose") {
    std::vector<int64_t> perm = n.attrs.getInts("perm");
    if (perm.empty())
      for (size_t k = in.size(); k-- > 0;)
        perm.push_back(int64_t(k));
    for (size_t k = 0; k < perm.size(); ++k)
      s.at(size_t(perm[k])) = c.at(k);
    return s;
  }
  if (n.op == "Expand" || n.op == "Tile") {
    if (in.size() > out.size())
      codegenError(g, "node '" + n.name + "' (" + n.op + ") lowers the rank");
    for (size_t j = 0; j < in.size(); ++j) {
      const std::string &ck = c[j + out.size() - in.size()];
      s[j] = in[j] == 1 ? "0" : n.op == "Tile" ? ck + " % " + std::to_string(in[j]) + "LL" : ck;
    }
    return s;
  }
  if (n.op != "Slice")
    codegenError(g, "node '" + n.name + "' (" + n.op + ") has no source-coordinate rule");
  // ONNX Slice: per sliced axis the first element taken is start (negative counts from the
  // end), clamped to [0, dim] for a positive step and [0, dim - 1] for a negative one.
  s = c;
  int64_t rank = int64_t(in.size());
  std::vector<int64_t> starts = intOperand(g, n, 1), axes = intOperand(g, n, 3),
                       steps = intOperand(g, n, 4);
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(int64_t(i));
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    codegenError(g, "node '" + n.name + "' (Slice) has starts, axes and steps of different lengths");
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t a = normalizeAxis(g, n, axes[i], rank), dim = in[size_t(a)], st = starts[i];
    if (steps[i] == 0)
      codegenError(g, "node '" + n.name + "' (Slice) has a zero step");
    if (st < 0)
      st += dim;
    st = steps[i] > 0 ? std::clamp<int64_t>(st, 0, dim) : std::clamp<int64_t>(st, 0, dim - 1);
    s[size_t(a)] = std::to_string(st) + "LL + " + s[size_t(a)] + " * " + std::to_string(steps[i]) + "LL";
  }
  return s;
}

void MovementWriter::body(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0);
  if (n_.op == "Transpose" || n_.op == "Expand" || n_.op == "Tile" || n_.op == "Slice")
    return copy(r, x, sourceCoords(g_, n_, c));
  if (n_.op == "Concat")
    return concat(c);
  if (n_.op == "Gather")
    return gather(c);
  if (n_.op == "GatherElements")
    return gatherElements(c);
  if (n_.op == "GatherND")
    return gatherND(c);
  if (n_.op == "Pad")
    return pad(c);
  if (n_.op == "ReverseSequence")
    return reverseSequence(c);
  if (n_.op == "TensorScatter")
    return tensorScatter(c);
  if (n_.op == "Einsum")
    return einsum(c);
  if (n_.op == "MatMulInteger" || n_.op == "QLinearMatMul")
    return integerMatMul(c);
  if (n_.op == "ConvInteger" || n_.op == "QLinearConv")
    return integerConv(c);
  if (isResample(n_.op))
    return resize(c);
  if (n_.op == "GridSample")
    return gridSample(c);
  if (n_.op == "ArgMax" || n_.op == "ArgMin")
    return argExtreme(c);
  if (n_.op == "ScatterElements" || n_.op == "Scatter")
    return scatterElements(c);
  if (n_.op == "LRN")
    return lrn(c);
  if (n_.op == "MaxUnpool")
    return maxUnpool(c);
  if (n_.op == "Col2Im")
    return col2Im(c);
  if (n_.op == "RoiAlign")
    return roiAlign(c);
  if (n_.op == "DeformConv")
    return deformConv(c);
  if (n_.op == "TfIdfVectorizer")
    return tfIdf(c);
  if (n_.op == "OneHot")
    return oneHot(c);
  if (isWindowOp(n_.op))
    return pool(c);
  codegenError(g_, "node '" + n_.name + "' (" + n_.op + ") has no movement rule");
}

void MovementWriter::concat(const std::vector<std::string> &c) {
  int r = n_.results.at(0);
  int64_t axis = normalizeAxis(g_, n_, n_.attrs.getInt("axis", 0), rankOf(r));
  int64_t offset = 0;
  bool first = true;
  for (int x : n_.operands) {
    int64_t size = shapeOf(x).at(size_t(axis));
    if (size == 0)
      continue;
    std::vector<std::string> s = c;
    s[size_t(axis)] = c[size_t(axis)] + " - " + std::to_string(offset) + "LL";
    os_ << "    " << (first ? "" : "else ") << "if (c" << axis << " < " << offset + size
        << "LL)\n";
    copy(r, x, s, "      ");
    offset += size;
    first = false;
  }
}

// Gather: output coordinates are the data's before the axis, the indices', then the data's
// after the axis; a negative index counts from the end.
// Declares `name`: the index at `offset` of index operand `ix` (or its folded constant),
// made non-negative against `dim`; returns the condition that it is inside [0, dim).
std::string MovementWriter::loadIndex(int ix, const std::string &offset, int64_t dim,
                                      const std::string &name) {
  std::string idx = g_.scalars.count(ix) ? std::to_string(int64_t(g_.scalars.at(ix))) + "LL"
                                         : "(long long)" + w_.paramName(ix) + "[" + offset + "]";
  os_ << "    long long " << name << " = " << idx << ";\n"
      << "    if (" << name << " < 0) " << name << " += " << dim << "LL;\n";
  return name + " >= 0 && " + name + " < " + std::to_string(dim) + "LL";
}

// The element of `x` at `src` where `inside` holds. An index outside [-dim, dim) is an
// error in ONNX (the reference fails); a kernel cannot fail, so it reads nothing, writes NaN
// (0 for integers) and records its step in *plumb_status (checksIndices): the runtime then
// fails the run naming the step. Never an out-of-bounds read.
void MovementWriter::copyIndexed(int r, int x, const std::vector<std::string> &src,
                                 const std::string &inside) {
  DType t = g_.values[size_t(r)].dtype;
  os_ << "    if (!(" << inside << ")) atomicCAS(plumb_status, 0, plumb_step);\n";
  os_ << "    " << w_.paramName(r) << "[e] = " << inside << " ? " << w_.paramName(x) << "["
      << viewOffsetOf(g_, x, src) << "] : " << storeAs(t, literal(t, isFloat(t) ? NAN : 0.0))
      << ";\n";
}

void MovementWriter::gather(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0), ix = n_.operands.at(1);
  const Shape &in = shapeOf(x), &is = shapeOf(ix);
  int64_t axis = normalizeAxis(g_, n_, n_.attrs.getInt("axis", 0), rankOf(x));
  std::vector<std::string> icoords(c.begin() + axis, c.begin() + axis + int64_t(is.size()));
  std::string inside = loadIndex(ix, offsetOf(is, icoords), in[size_t(axis)], "idx");
  std::vector<std::string> s;
  for (int64_t k = 0; k < int64_t(in.size()); ++k)
    s.push_back(k < axis ? c[size_t(k)] : k == axis ? "idx" : c[size_t(k - 1 + int64_t(is.size()))]);
  copyIndexed(r, x, s, inside);
}

// GatherElements: the output has the indices' shape; its element reads the data at its own
// coordinates with the axis coordinate replaced by the index there.
void MovementWriter::gatherElements(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0), ix = n_.operands.at(1);
  const Shape &in = shapeOf(x);
  int64_t axis = normalizeAxis(g_, n_, n_.attrs.getInt("axis", 0), rankOf(x));
  if (shapeOf(ix).size() != in.size())
    codegenError(g_, "node '" + n_.name + "' (GatherElements) has indices of another rank");
  std::string inside = loadIndex(ix, offsetOf(shapeOf(ix), c), in[size_t(axis)], "idx");
  std::vector<std::string> s = c;
  s[size_t(axis)] = "idx";
  copyIndexed(r, x, s, inside);
}

// GatherND: output coordinates are (indices' leading dims..., slice dims...); the first
// batch_dims of them also index the data, the tuple at indices[leading...] the next k data
// dims, and the slice coordinates the rest.
void MovementWriter::gatherND(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0), ix = n_.operands.at(1);
  const Shape &in = shapeOf(x), &is = shapeOf(ix);
  int64_t b = n_.attrs.getInt("batch_dims", 0), q = int64_t(is.size());
  int64_t k = q == 0 ? 0 : is.back();
  if (q < 1 || b < 0 || k < 1 || b + k > int64_t(in.size()))
    codegenError(g_, "node '" + n_.name + "' (GatherND) has indices " + shapeToString(is) +
                         " for data " + shapeToString(in) + " and batch_dims " + std::to_string(b));
  std::vector<std::string> lead(c.begin(), c.begin() + (q - 1)), s, inside;
  for (int64_t d = 0; d < b; ++d)
    s.push_back(c[size_t(d)]);
  for (int64_t j = 0; j < k; ++j) {
    std::vector<std::string> at = lead;
    at.push_back(std::to_string(j));
    std::string name = "i" + std::to_string(j);
    inside.push_back(loadIndex(ix, offsetOf(is, at), in[size_t(b + j)], name));
    s.push_back(name);
  }
  for (size_t d = size_t(q - 1); d < c.size(); ++d)
    s.push_back(c[d]);
  std::string all;
  for (const std::string &i : inside)
    all += (all.empty() ? "" : " && ") + ("(" + i + ")");
  copyIndexed(r, x, s, all);
}

// OneHot: the output is the indices' shape with depth inserted at the axis; an element is
// values[1] (on) where the index at the other coordinates, truncated to an integer and
// counted from the end when negative, equals its axis coordinate, values[0] (off) elsewhere.
// An index outside [-depth, depth) matches nothing (an all-off line, as the spec says). The
// depth is a constant (steeringOperand), the output's dim at the axis.
void MovementWriter::oneHot(const std::vector<std::string> &c) {
  int r = n_.results.at(0), ix = n_.operands.at(0), values = n_.operands.at(2);
  int64_t axis = normalizeAxis(g_, n_, n_.attrs.getInt("axis", -1), rankOf(r));
  int64_t depth = shapeOf(r).at(size_t(axis));
  if (intOperand(g_, n_, 1) != std::vector<int64_t>{depth})
    codegenError(g_, "node '" + n_.name + "' (OneHot) has a depth other than its output's dim " +
                         std::to_string(depth));
  std::vector<std::string> at = c;
  at.erase(at.begin() + axis);
  DType it = g_.values[size_t(ix)].dtype;
  std::string load = loadAs(it, w_.paramName(ix) + "[" + viewOffsetOf(g_, ix, at) + "]");
  // Float indices truncate as the reference reads them (NaN 0, past int64 its bound).
  std::string idx = g_.scalars.count(ix) ? literal(DType::I64, g_.scalars.at(ix))
                    : isFloat(it)        ? floatToInteger(load, computeType(it), DType::I64)
                                         : "(long long)(" + load + ")";
  DType rt = g_.values[size_t(r)].dtype;
  os_ << "    long long idx = " << idx << ";\n"
      << "    if (idx < 0) idx += " << depth << "LL;\n"
      << "    " << w_.paramName(r) << "[e] = "
      << storeAs(rt, "(idx == " + c[size_t(axis)] + " ? " + operandElement(values, "1") + " : " +
                         operandElement(values, "0") + ")")
      << ";\n";
}

// Pad: the source coordinate is the output's less the leading pad; outside the data a
// constant (constant mode), the nearest edge element (edge), the mirror image without
// repeating the edge (reflect) or the data repeated (wrap).
PadSides padSides(const KernelGraph &g, const KNode &n, int64_t rank) {
  // A conv's Pad kernel (movementGraph) has a pads operand whatever the model's opset.
  bool legacy = g.opset < 11 && (n.operands.size() < 2 || n.operands[1] < 0);
  std::vector<int64_t> pads = legacy ? n.attrs.getInts("pads") : intOperand(g, n, 1),
                       axes = legacy ? std::vector<int64_t>{} : intOperand(g, n, 3);
  if (axes.empty())
    for (int64_t a = 0; a < rank; ++a)
      axes.push_back(a);
  if (pads.size() != 2 * axes.size())
    codegenError(g, "node '" + n.name + "' (Pad) has " + std::to_string(pads.size()) +
                        " pads for " + std::to_string(axes.size()) + " axes");
  PadSides p{std::vector<int64_t>(size_t(rank), 0), std::vector<int64_t>(size_t(rank), 0),
             legacy ? n.attrs.getFloat("value", 0.0) : 0.0};
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = size_t(normalizeAxis(g, n, axes[i], rank));
    p.begin[a] = pads[i];
    p.end[a] = pads[i + axes.size()];
  }
  return p;
}

void MovementWriter::pad(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0);
  const Shape &in = shapeOf(x);
  int64_t rank = int64_t(in.size());
  PadSides sides = padSides(g_, n_, rank);
  const std::vector<int64_t> &begin = sides.begin;
  std::string mode = n_.attrs.getString("mode", "constant");
  if (mode != "constant" && mode != "edge" && mode != "reflect" && mode != "wrap")
    codegenError(g_, "node '" + n_.name + "' (Pad) has mode '" + mode + "'");
  std::vector<std::string> s;
  std::string inside = "true";
  for (int64_t k = 0; k < rank; ++k) {
    std::string sk = "s" + std::to_string(k), dim = std::to_string(in[size_t(k)]) + "LL";
    os_ << "    long long " << sk << " = " << c[size_t(k)] << " - " << begin[size_t(k)] << "LL;\n";
    if (mode == "edge")
      os_ << "    " << sk << " = " << sk << " < 0 ? 0 : " << sk << " >= " << dim << " ? " << dim
          << " - 1 : " << sk << ";\n";
    if (mode == "reflect") // one reflection: ONNX pads reflect by less than the dim
      os_ << "    " << sk << " = " << sk << " < 0 ? -" << sk << " : " << sk << " >= " << dim
          << " ? 2 * (" << dim << " - 1) - " << sk << " : " << sk << ";\n";
    if (mode == "wrap") // periodic: any distance outside maps back in
      os_ << "    " << sk << " = ((" << sk << " % " << dim << ") + " << dim << ") % " << dim
          << ";\n";
    inside += " && " + sk + " >= 0 && " + sk + " < " + dim;
    s.push_back(sk);
  }
  if (mode != "constant")
    return copy(r, x, s);
  DType t = g_.values[size_t(r)].dtype;
  int cv = n_.operands.size() > 2 ? n_.operands[2] : -1;
  std::string value = cv < 0 ? storeAs(t, literal(t, sides.fill))
                      : g_.scalars.count(cv) ? storeAs(t, literal(t, g_.scalars.at(cv)))
                                             : w_.paramName(cv) + "[0]";
  os_ << "    " << w_.paramName(r) << "[e] = " << inside << " ? " << w_.paramName(x) << "["
      << viewOffsetOf(g_, x, s) << "] : " << value << ";\n";
}

// ReverseSequence: along the time axis, the first sequence_lens[b] elements of batch item b
// come in reverse order, the rest as they are. A length past the time axis (which the
// reference refuses) is clamped, so no read leaves x.
void MovementWriter::reverseSequence(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0), lens = n_.operands.at(1);
  int64_t rank = rankOf(x);
  int64_t time = normalizeAxis(g_, n_, n_.attrs.getInt("time_axis", 0), rank),
          batch = normalizeAxis(g_, n_, n_.attrs.getInt("batch_axis", 1), rank);
  if (rank < 2 || time > 1 || batch > 1 || time == batch)
    codegenError(g_, "node '" + n_.name + "' (ReverseSequence): batch_axis and time_axis must "
                     "be 0 and 1 in some order");
  DType lt = g_.values[size_t(lens)].dtype;
  std::string t = c[size_t(time)], steps = std::to_string(shapeOf(x)[size_t(time)]) + "LL";
  os_ << "    long long len = (long long)("
      << loadAs(lt, w_.paramName(lens) + "[" + viewOffsetOf(g_, lens, {c[size_t(batch)]}) + "]")
      << ");\n"
      << "    len = len < 0 ? 0 : len > " << steps << " ? " << steps << " : len;\n";
  std::vector<std::string> s = c;
  s[size_t(time)] = "(" + t + " < len ? len - 1 - " + t + " : " + t + ")";
  copy(r, x, s);
}

// TensorScatter (opset 24, a KV cache's update): the cache with the update written at
// positions write_indices[b] + s along `axis` (modulo the axis in "circular" mode). Each
// output element finds the s it would come from; outside [0, S) it is the cache's. A linear
// write outside the cache, which the reference refuses, is dropped and fails the run
// (checksIndices).
void MovementWriter::tensorScatter(const std::vector<std::string> &c) {
  int r = n_.results.at(0), cache = n_.operands.at(0), update = n_.operands.at(1);
  int starts = n_.operands.size() > 2 ? n_.operands[2] : -1;
  int64_t axis = normalizeAxis(g_, n_, n_.attrs.getInt("axis", -2), rankOf(cache));
  std::string mode = n_.attrs.getString("mode", "linear");
  if (axis == 0 || (mode != "linear" && mode != "circular"))
    codegenError(g_, "node '" + n_.name + "' (TensorScatter): axis 0 (the batch) or mode '" + mode +
                         "' (linear or circular)");
  std::string maxSeq = std::to_string(shapeOf(cache)[size_t(axis)]) + "LL",
              seq = std::to_string(shapeOf(update)[size_t(axis)]) + "LL";
  std::string start = "0LL";
  if (starts >= 0)
    start = "(long long)(" +
            loadAs(g_.values[size_t(starts)].dtype,
                   w_.paramName(starts) + "[" + viewOffsetOf(g_, starts, {c[0]}) + "]") +
            ")";
  if (mode == "linear" && shapeOf(update)[size_t(axis)] > 0) // the reference refuses it
    os_ << "    if (" << start << " < 0 || " << start << " + " << seq << " > " << maxSeq
        << ") atomicCAS(plumb_status, 0, plumb_step);\n";
  os_ << "    long long from = " << c[size_t(axis)] << " - " << start << ";\n";
  if (mode == "circular")
    os_ << "    from = ((from % " << maxSeq << ") + " << maxSeq << ") % " << maxSeq << ";\n";
  std::vector<std::string> s = c;
  s[size_t(axis)] = "from";
  os_ << "    " << w_.paramName(r) << "[e] = from >= 0 && from < " << seq << " ? "
      << w_.paramName(update) << "[" << viewOffsetOf(g_, update, s) << "] : " << w_.paramName(cache)
      << "[" << viewOffsetOf(g_, cache, c) << "];\n";
}

GeneratedKernel generateMovement(const KernelGraph &g) {
  const std::string &op = g.nodes.back().op;
  if (!(isMovement(op) || isWindowOp(op)) || (g.nodes.size() != 1 && !takesPrologue(op)))
    codegenError(g, "a movement or window kernel is one Transpose, Slice, Concat, Gather, "
                    "Expand, Tile, Split, Pad, ReverseSequence, TensorScatter, pool, Einsum, CumSum, TopK, "
                    "ScatterND, "
                    "ArgMax/ArgMin, Resize or GridSample (an Einsum or CumSum after "
                    "elementwise ops)");
  MovementWriter w(g);
  GeneratedKernel k;
  k.style = isWindowOp(op) ? "window" : "movement";
  k.source = w.source();
  k.indexChecks = checksIndices(g);
  k.block = {256, 1, 1};
  k.grid = {std::max<int64_t>(1, std::min<int64_t>((w.largestOutput() + 255) / 256, 65536)), 1, 1};
  if (w.blockRows() > 0) { // a block per line, reduced across the block as row kernels are
    k.style = "row";
    k.grid = {std::min<int64_t>(w.blockRows(), 65536), 1, 1};
  }
  return k;
}

} // namespace plumb::cuda
