// Composite kernels: an elementwise body that also moves data (Transpose, Slice, Concat,
// Expand, Tile and the reshapes between its ops), one thread per output element. Each value
// is computed where it is needed: at the output element's coordinates, or at the coordinates
// a movement op maps them to. So `x*cos + concat(-x[..., h:], x[..., :h])*sin` (rotary
// embeddings) is one kernel that reads x twice and writes once, where the ops one by one are
// six kernels and five intermediate tensors.
#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/codegen/MovementWriter.h"
#include "backends/cuda/codegen/ValueWriter.h"

#include <algorithm>
#include <sstream>

namespace plumb::cuda {

bool isComposableMovement(const std::string &op) {
  return op == "Transpose" || op == "Slice" || op == "Concat" || op == "Expand" ||
         op == "Tile" || op == "Pad" || op == "Reshape" || op == "Flatten" || op == "Squeeze" ||
         op == "Unsqueeze" || op == "Identity";
}

bool isComposite(const KernelGraph &g) {
  bool moves = false, single = g.nodes.size() == 1;
  // Outputs of several shapes (sibling kernels): each is written at its own coordinates.
  for (int o : g.outputs)
    moves |= g.values[size_t(o)].shape != g.values[size_t(g.outputs.at(0))].shape;
  for (const KNode &n : g.nodes) {
    if (n.results.size() != 1)
      return false;
    if (isComposableMovement(n.op))
      moves = true;
    else if (!isSupportedElementwise(n.op))
      return false;
  }
  // One Transpose/Slice/... alone is a movement kernel (it copies in the storage type); a
  // reshape alone is a byte copy, never generated.
  return moves && !(single && isMovement(g.nodes[0].op));
}

namespace {

bool isLiteral(const std::string &s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

} // namespace

ValueWriter::ValueWriter(const KernelGraph &g, std::ostream &os, std::string prefix)
    : g_(g), params_(g, {}), producer_(g.values.size(), -1), os_(os),
      prefix_(std::move(prefix)) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    producer_[size_t(g.nodes[i].results[0])] = int(i);
}

std::string ValueWriter::at(int v, const std::vector<std::string> &c, const std::string &indent) {
  if (auto s = g_.scalars.find(v); s != g_.scalars.end())
    return literal(dtypeOf(v), s->second);
  std::string key = std::to_string(v);
  for (const std::string &ck : c)
    key += "," + ck;
  for (auto scope = memo_.rbegin(); scope != memo_.rend(); ++scope)
    if (auto it = scope->find(key); it != scope->end())
      return it->second;
  std::string name = compute(v, c, indent);
  memo_.back()[key] = name;
  return name;
}

std::string ValueWriter::compute(int v, const std::vector<std::string> &c,
                                 const std::string &indent) {
  int p = producer_[size_t(v)];
  if (p < 0)
    return load(v, c, indent);
  const KNode &n = g_.nodes[size_t(p)];
  const Shape &out = shapeOf(v);
  if (n.op == "Transpose" || n.op == "Expand" || n.op == "Tile" || n.op == "Slice")
    return at(n.operands[0], sourceCoords(g_, n, c), indent);
  if (n.op == "Concat")
    return concat(n, c, indent);
  if (n.op == "Pad")
    return pad(n, c, indent);
  if (isComposableMovement(n.op)) // the reshapes
    return at(n.operands[0], reshaped(out, shapeOf(n.operands[0]), c, indent), indent);
  std::vector<std::string> args;
  for (int o : n.operands) {
    if (o < 0) {
      args.push_back("");
      continue;
    }
    // numpy broadcasting: the operand's dims align with the result's trailing ones.
    const Shape &s = shapeOf(o);
    std::vector<std::string> co;
    for (size_t k = 0; k < s.size(); ++k)
      co.push_back(s[k] == 1 ? "0" : c[out.size() - s.size() + k]);
    args.push_back(at(o, co, indent));
  }
  std::string name = fresh();
  os_ << indent << "const " << computeType(dtypeOf(v)) << " " << name << " = "
      << emitElementwise(g_, n, args) << ";\n";
  return name;
}

std::string ValueWriter::load(int v, const std::vector<std::string> &c,
                              const std::string &indent) {
  std::string param = params_.paramName(v);
  if (param.rfind("in", 0) != 0)
    codegenError(g_, "value " + std::to_string(v) + " is neither computed nor an input");
  std::string name = fresh();
  os_ << indent << "const " << computeType(dtypeOf(v)) << " " << name << " = "
      << loadAs(dtypeOf(v), param + "[" + viewOffsetOf(g_, v, c) + "]") << ";\n";
  return name;
}

// Concat: the piece holding the coordinate along the axis, each piece in its own block.
std::string ValueWriter::concat(const KNode &n, const std::vector<std::string> &c,
                                const std::string &indent) {
  int64_t axis = normalizeAxis(g_, n, n.attrs.getInt("axis", 0), int64_t(c.size()));
  const std::string &ca = c[size_t(axis)];
  std::vector<std::pair<int, int64_t>> pieces; // operand, offset along the axis
  int64_t offset = 0;
  for (int x : n.operands) {
    int64_t size = shapeOf(x).at(size_t(axis));
    if (size > 0)
      pieces.push_back({x, offset});
    offset += size;
  }
  auto shifted = [&](size_t i) {
    std::vector<std::string> s = c;
    if (pieces[i].second != 0)
      s[size_t(axis)] = isLiteral(ca) ? std::to_string(std::stoll(ca) - pieces[i].second)
                                      : "(" + ca + " - " + std::to_string(pieces[i].second) + "LL)";
    return s;
  };
  if (isLiteral(ca)) { // known here: no branch
    int64_t at0 = std::stoll(ca);
    for (size_t i = pieces.size(); i-- > 0;)
      if (at0 >= pieces[i].second)
        return at(pieces[i].first, shifted(i), indent);
  }
  std::string name = fresh();
  os_ << indent << computeType(dtypeOf(n.results[0])) << " " << name << ";\n";
  for (size_t i = 0; i < pieces.size(); ++i) {
    bool last = i + 1 == pieces.size();
    os_ << indent << (i ? "else " : "");
    if (!last)
      os_ << "if (" << ca << " < " << pieces[i + 1].second << "LL) ";
    os_ << "{\n";
    openScope(); // what a branch declares is visible in it alone
    std::string value = at(pieces[i].first, shifted(i), indent + "  ");
    os_ << indent << "  " << name << " = " << value << ";\n";
    closeScope();
    os_ << indent << "}\n";
  }
  return name;
}

// Pad (constant mode, a constant fill): the source element at the coordinates less the
// leading pads where they fall inside the data, the fill elsewhere.
std::string ValueWriter::pad(const KNode &n, const std::vector<std::string> &c,
                             const std::string &indent) {
  int x = n.operands[0];
  const Shape &in = shapeOf(x);
  auto [begin, end, legacyFill] = padSides(g_, n, int64_t(in.size()));
  if (n.attrs.getString("mode", "constant") != "constant")
    codegenError(g_, "node '" + n.name + "' (Pad): a composite kernel pads with a constant");
  double fill = legacyFill;
  int cv = n.operands.size() > 2 ? n.operands[2] : -1;
  if (cv >= 0) {
    if (!g_.scalars.count(cv))
      codegenError(g_, "node '" + n.name + "' (Pad): the fill is not a constant");
    fill = g_.scalars.at(cv);
  }
  std::vector<std::string> src(c.size());
  std::string inside;
  for (size_t k = 0; k < c.size(); ++k) {
    if (begin[k] == 0 && end[k] <= 0 && c[k] != "0") { // only cropped at the end, or kept
      src[k] = in[k] == 1 ? "0" : c[k];
      continue;
    }
    std::string s = begin[k] == 0 ? c[k] : "(" + c[k] + " - " + std::to_string(begin[k]) + "LL)";
    inside += (inside.empty() ? "" : " && ") + ("(" + s + ") >= 0 && (" + s + ") < " +
                                                std::to_string(in[k]) + "LL");
    src[k] = in[k] == 1 ? "0" : s;
  }
  if (inside.empty())
    return at(x, src, indent);
  DType t = dtypeOf(n.results[0]);
  std::string name = fresh();
  os_ << indent << computeType(t) << " " << name << " = " << literal(t, fill) << ";\n"
      << indent << "if (" << inside << ") {\n";
  openScope(); // what the branch declares is visible in it alone
  std::string value = at(x, src, indent + "  ");
  os_ << indent << "  " << name << " = " << value << ";\n";
  closeScope();
  os_ << indent << "}\n";
  return name;
}

// A reshape's source coordinates. Where only dims of size 1 come or go (Unsqueeze, Squeeze,
// most Flattens) the other dims map in order; else through the flat row-major index.
std::vector<std::string> ValueWriter::reshaped(const Shape &out, const Shape &in,
                                               const std::vector<std::string> &c,
                                               const std::string &indent) {
  std::vector<size_t> a, b;
  for (size_t k = 0; k < out.size(); ++k)
    if (out[k] != 1)
      a.push_back(k);
  for (size_t k = 0; k < in.size(); ++k)
    if (in[k] != 1)
      b.push_back(k);
  std::vector<std::string> s(in.size(), "0");
  bool direct = a.size() == b.size();
  for (size_t j = 0; direct && j < a.size(); ++j)
    direct = out[a[j]] == in[b[j]];
  if (direct) {
    for (size_t j = 0; j < a.size(); ++j)
      s[b[j]] = c[a[j]];
    return s;
  }
  std::vector<int64_t> so = ref::stridesOf(out), si = ref::stridesOf(in);
  std::string flat = fresh(), sum;
  for (size_t k : a)
    sum += (sum.empty() ? "" : " + ") + ("(" + c[k] + ") * " + std::to_string(so[k]) + "LL");
  os_ << indent << "const long long " << flat << " = " << (sum.empty() ? "0" : sum) << ";\n";
  for (size_t k : b)
    s[k] = "(" + flat + " / " + std::to_string(si[k]) + "LL) % " + std::to_string(in[k]) + "LL";
  return s;
}

// The coordinates of element `flat` (a variable) of a row-major `shape`, declared at `indent`
// as `prefix`K; "0" for dims of size 1.
std::vector<std::string> coordinatesOf(std::ostream &os, const Shape &shape, const std::string &flat,
                                       const std::string &prefix, const std::string &indent) {
  std::vector<int64_t> st = ref::stridesOf(shape);
  std::vector<std::string> c;
  for (size_t k = 0; k < shape.size(); ++k) {
    if (shape[k] == 1) {
      c.push_back("0");
      continue;
    }
    std::string name = prefix + std::to_string(k);
    os << indent << "const long long " << name << " = (" << flat << " / " << st[k] << "LL) % "
       << shape[k] << "LL;\n";
    c.push_back(name);
  }
  return c;
}

// One thread per output element. Outputs of one shape share the coordinates (and what the
// values computed at them); outputs of several shapes (sibling kernels of two shapes, Llama's
// q and k rotations) are walked one after the other, each in a branch of its own.
GeneratedKernel generateComposite(const KernelGraph &g) {
  auto shapeOf = [&](int v) -> const Shape & { return g.values[size_t(v)].shape; };
  const Shape &iter = shapeOf(g.outputs.at(0));
  bool same = true;
  int64_t n = 0;
  for (int o : g.outputs) {
    same &= shapeOf(o) == iter;
    n += numElements(shapeOf(o));
    if (g.strides.count(o))
      codegenError(g, "a composite kernel writes its outputs contiguously");
  }
  if (same)
    n = numElements(iter);
  std::ostringstream os;
  ValueWriter values(g, os, "t");
  os << includes(g) << "extern \"C\" __global__ void plumb_kernel(" << paramList(g) << ") {\n"
     << "  for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < " << n
     << "LL; e += (long long)gridDim.x * blockDim.x) {\n";
  auto store = [&](size_t k, const std::string &at, const std::string &value,
                   const std::string &indent) {
    os << indent << "out" << k << "[" << at << "] = "
       << storeAs(g.values[size_t(g.outputs[k])].dtype, value) << ";\n";
  };
  if (same) {
    std::vector<std::string> c = coordinatesOf(os, iter, "e", "c", "    ");
    std::vector<std::string> names;
    for (int o : g.outputs)
      names.push_back(values.at(o, c, "    "));
    for (size_t k = 0; k < g.outputs.size(); ++k)
      store(k, "e", names[k], "    ");
  } else {
    int64_t base = 0;
    for (size_t k = 0; k < g.outputs.size(); ++k) {
      int64_t size = numElements(shapeOf(g.outputs[k]));
      os << "    " << (k ? "else " : "") << "if (e < " << base + size << "LL) {\n"
         << "      const long long f = e - " << base << "LL;\n";
      values.openScope(); // what one output's branch declares is its own
      std::vector<std::string> c = coordinatesOf(os, shapeOf(g.outputs[k]), "f", "c", "      ");
      store(k, "f", values.at(g.outputs[k], c, "      "), "      ");
      values.closeScope();
      os << "    }\n";
      base += size;
    }
  }
  os << "  }\n}\n";
  GeneratedKernel k;
  k.style = "elementwise";
  k.source = os.str();
  k.block = {256, 1, 1};
  k.grid = {std::max<int64_t>(1, std::min<int64_t>((n + 255) / 256, 65536)), 1, 1};
  return k;
}

} // namespace plumb::cuda
