// ElementWriter: per-element statements over a KernelGraph (see Writer.h).
#include "backends/cuda/codegen/Writer.h"

#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/Generator.h"
#include "runtime/Error.h"

#include <algorithm>

namespace plumb::cuda {

void codegenError(const KernelGraph &g, const std::string &msg) {
  throw Error("cuda codegen: fusion '" + g.kind + "' over [" + g.label + "]: " + msg);
}

Shape broadcastAll(const KernelGraph &g, const std::vector<Shape> &shapes) {
  Shape out;
  for (const Shape &s : shapes) {
    if (s.size() > out.size())
      out.insert(out.begin(), s.size() - out.size(), 1);
    for (size_t k = 0; k < s.size(); ++k) {
      int64_t &o = out[out.size() - s.size() + k];
      int64_t d = s[k];
      if (o == 1)
        o = d;
      else if (d != 1 && d != o)
        codegenError(g, "shapes " + shapeToString(s) + " and " + shapeToString(out) +
                            " do not broadcast");
    }
  }
  return out;
}

ElementWriter::ElementWriter(const KernelGraph &g, Shape iter, std::string elementVar)
    : g_(g), iter_(std::move(iter)), e_(std::move(elementVar)), producer_(g.values.size(), -1) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int r : g.nodes[i].results)
      producer_[size_t(r)] = int(i);
}

std::string ElementWriter::paramName(int value) const {
  for (size_t k = 0; k < g_.inputs.size(); ++k)
    if (g_.inputs[k] == value)
      return "in" + std::to_string(k);
  for (size_t k = 0; k < g_.outputs.size(); ++k)
    if (g_.outputs[k] == value)
      return "out" + std::to_string(k);
  return "";
}

std::string ElementWriter::name(int value) const {
  auto b = bound_.find(value);
  if (b != bound_.end())
    return b->second;
  auto s = g_.scalars.find(value);
  if (s != g_.scalars.end())
    return literal(g_.values[size_t(value)].dtype, s->second);
  return "v" + std::to_string(value);
}

std::string ElementWriter::offset(const Shape &s) const {
  if (s == iter_)
    return e_;
  if (numElements(s) == 1)
    return "0";
  std::string expr;
  int64_t stride = 1;
  for (size_t k = s.size(); k-- > 0;) {
    size_t ik = iter_.size() - s.size() + k;
    if (s[k] != 1)
      expr += (expr.empty() ? "" : " + ") + std::string("c") + std::to_string(ik) + " * " +
              std::to_string(stride) + "LL";
    stride *= s[k];
  }
  return expr.empty() ? "0" : expr;
}

void ElementWriter::coords(std::ostream &os, const std::vector<Shape> &shapes,
                           const std::string &indent, const std::vector<Shape> &viewed) const {
  std::vector<bool> need(iter_.size(), false);
  for (const Shape &s : shapes) {
    if (s == iter_ || numElements(s) == 1)
      continue;
    for (size_t k = 0; k < s.size(); ++k)
      if (s[k] != 1)
        need[iter_.size() - s.size() + k] = true;
  }
  for (const Shape &s : viewed)
    for (size_t k = 0; k < s.size(); ++k)
      if (s[k] != 1)
        need[iter_.size() - s.size() + k] = true;
  int64_t stride = 1;
  std::vector<int64_t> strides(iter_.size());
  for (size_t k = iter_.size(); k-- > 0;) {
    strides[k] = stride;
    stride *= iter_[k];
  }
  for (size_t k = 0; k < iter_.size(); ++k)
    if (need[k])
      os << indent << "const long long c" << k << " = (" << e_ << " / " << strides[k] << "LL) % "
         << iter_[k] << "LL;\n";
}

void ElementWriter::emit(std::ostream &os, const std::vector<int> &targets,
                         const std::string &indent) const {
  // The nodes and inputs the targets need, stopping at bound values and scalars.
  std::set<int> nodes, loads;
  std::vector<int> work(targets.begin(), targets.end());
  std::set<int> seen;
  while (!work.empty()) {
    int v = work.back();
    work.pop_back();
    if (v < 0 || !seen.insert(v).second || bound_.count(v) || g_.scalars.count(v))
      continue;
    int p = producer_[size_t(v)];
    if (p < 0) {
      if (paramName(v).rfind("in", 0) != 0)
        codegenError(g_, "value " + std::to_string(v) + " is neither computed nor an input");
      loads.insert(v);
      continue;
    }
    nodes.insert(p);
    for (int o : g_.nodes[size_t(p)].operands)
      work.push_back(o);
  }
  std::vector<Shape> shapes, viewed;
  for (int v : loads)
    (g_.strides.count(v) ? viewed : shapes).push_back(g_.values[size_t(v)].shape);
  coords(os, shapes, indent, viewed);
  for (int v : loads) {
    const KValue &kv = g_.values[size_t(v)];
    std::string at = offset(kv.shape);
    if (g_.strides.count(v)) { // through its view, at its broadcast coordinates
      std::vector<std::string> c;
      for (size_t k = 0; k < kv.shape.size(); ++k)
        c.push_back(kv.shape[k] == 1 ? "0" : "c" + std::to_string(iter_.size() - kv.shape.size() + k));
      at = viewOffsetOf(g_, v, c);
    }
    os << indent << "const " << computeType(kv.dtype) << " v" << v << " = "
       << loadAs(kv.dtype, paramName(v) + "[" + at + "]") << ";\n";
  }
  for (int i : nodes) { // std::set: topological order is node order
    const KNode &n = g_.nodes[size_t(i)];
    if (isRowReduction(n.op))
      codegenError(g_, "internal: reduction '" + n.name + "' used before its pass");
    std::vector<std::string> args;
    for (int o : n.operands)
      args.push_back(o < 0 ? "" : name(o));
    std::string expr = emitElementwise(g_, n, args);
    int r = n.results[0];
    os << indent << "const " << computeType(g_.values[size_t(r)].dtype) << " v" << r << " = "
       << expr << ";\n";
  }
}

std::string paramList(const KernelGraph &g) {
  std::string s;
  for (size_t k = 0; k < g.inputs.size(); ++k)
    s += (s.empty() ? "" : ", ") + std::string("const ") +
         storageType(g.values[size_t(g.inputs[k])].dtype) + " *__restrict__ in" + std::to_string(k);
  for (size_t k = 0; k < g.outputs.size(); ++k)
    s += (s.empty() ? "" : ", ") + storageType(g.values[size_t(g.outputs[k])].dtype) +
         " *__restrict__ out" + std::to_string(k);
  if (checksIndices(g))
    s += ", int *__restrict__ plumb_status, int plumb_step";
  return s;
}

std::string includes(const KernelGraph &g) {
  bool half = false, bf16 = false, f8 = false;
  for (const KValue &v : g.values) {
    half |= v.dtype == DType::F16;
    bf16 |= v.dtype == DType::BF16;
    f8 |= isSmallFloat(v.dtype);
  }
  return std::string(half ? "#include <cuda_fp16.h>\n" : "") +
         (bf16 ? "#include <cuda_bf16.h>\n" : "") + (f8 ? smallFloatHelpers() : "");
}

} // namespace plumb::cuda
