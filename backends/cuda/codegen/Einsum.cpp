// Einsum kernels (MovementWriter, see MovementWriter.h): "..." made explicit, then each
// output element sums the products of the operands' elements over the labels summed away.
#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/MovementWriter.h"

#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace plumb::cuda {

// An Einsum equation with "..." as one without: the dims an operand has beyond its letters,
// right-aligned across operands as numpy broadcasts them, get letters the equation does not
// use; an explicit output's "..." is all of them, an implicit output starts with them. Empty
// when the ellipsis dims differ between operands (a broadcast the kernel does not do).
// The terms of an Einsum equation's left-hand side, one per operand.
static std::vector<std::string> einsumTerms(const std::string &lhs) {
  std::vector<std::string> terms(1);
  for (char ch : lhs) {
    if (ch == ',')
      terms.emplace_back();
    else
      terms.back().push_back(ch);
  }
  return terms;
}

static std::string explicitEinsum(const std::string &eq, const std::vector<Shape> &shapes) {
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow), rhs = arrow == std::string::npos ? "" : eq.substr(arrow + 2);
  std::vector<std::string> terms = einsumTerms(lhs);
  if (terms.size() != shapes.size())
    return "";
  std::set<char> used(eq.begin(), eq.end());
  std::string spare;
  for (char ch : std::string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
    if (!used.count(ch))
      spare += ch;
  // Ellipsis dims per operand, and the widest.
  size_t widest = 0;
  std::vector<size_t> extra(terms.size(), 0);
  for (size_t i = 0; i < terms.size(); ++i) {
    size_t dots = terms[i].find("...");
    if (dots == std::string::npos)
      continue;
    size_t letters = terms[i].size() - 3;
    if (shapes[i].size() < letters)
      return "";
    extra[i] = shapes[i].size() - letters;
    widest = std::max(widest, extra[i]);
  }
  if (widest > spare.size())
    return "";
  std::string all = spare.substr(0, widest);
  std::vector<int64_t> size(widest, -1);
  for (size_t i = 0; i < terms.size(); ++i) {
    size_t dots = terms[i].find("...");
    if (dots == std::string::npos)
      continue;
    std::string mine = all.substr(widest - extra[i]);
    for (size_t k = 0; k < extra[i]; ++k) { // right-aligned: the same dim size in every operand
      int64_t d = shapes[i][dots + k];
      int64_t &want = size[widest - extra[i] + k];
      if (want >= 0 && want != d)
        return "";
      want = d;
    }
    terms[i].replace(dots, 3, mine);
  }
  std::string out;
  if (arrow != std::string::npos) {
    out = rhs;
    if (size_t dots = out.find("..."); dots != std::string::npos)
      out.replace(dots, 3, all);
  } else { // implicit: the ellipsis dims, then the letters that appear once, alphabetically
    std::map<char, int> count;
    for (char ch : lhs)
      if (ch != ',' && ch != '.')
        ++count[ch];
    out = all;
    for (auto &[label, n] : count)
      if (n == 1)
        out += label;
  }
  std::string result;
  for (size_t i = 0; i < terms.size(); ++i)
    result += (i ? "," : "") + terms[i];
  return result + "->" + out;
}

// Einsum, any number of operands, explicit or implicit output, "..." made explicit first:
// each output element loops over the labels summed away and adds the product of the
// operands' elements; a label repeated within one term (a diagonal) indexes each of its dims
// with one counter.
void MovementWriter::einsum(const std::vector<std::string> &c) {
  std::string eq;
  for (char ch : n_.attrs.getString("equation", ""))
    if (ch != ' ')
      eq += ch;
  if (eq.find('.') != std::string::npos) {
    std::vector<Shape> shapes;
    for (int v : n_.operands)
      shapes.push_back(shapeOf(v));
    eq = explicitEinsum(eq, shapes);
    if (eq.empty())
      codegenError(g_, "node '" + n_.name + "' (Einsum) broadcasts its ellipsis dims");
  }
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms = einsumTerms(lhs);
  if (terms.size() != n_.operands.size())
    codegenError(g_, "node '" + n_.name + "' (Einsum) has " + std::to_string(terms.size()) +
                         " terms for " + std::to_string(n_.operands.size()) + " operands");
  std::map<char, int64_t> dims, count;
  for (size_t i = 0; i < terms.size(); ++i) {
    const Shape &sh = shapeOf(n_.operands[i]);
    if (sh.size() != terms[i].size())
      codegenError(g_, "node '" + n_.name + "' (Einsum) term '" + terms[i] + "' does not match " +
                           shapeToString(sh));
    for (size_t k = 0; k < sh.size(); ++k) {
      dims[terms[i][k]] = sh[k];
      ++count[terms[i][k]];
    }
  }
  std::string rhs;
  if (arrow != std::string::npos)
    rhs = eq.substr(arrow + 2);
  else // implicit: the labels that appear once, alphabetically
    for (auto &[label, n] : count)
      if (n == 1)
        rhs += label;
  int r = n_.results.at(0);
  if (rhs.size() != c.size())
    codegenError(g_, "node '" + n_.name + "' (Einsum) output '" + rhs + "' does not match " +
                         shapeToString(shapeOf(r)));
  auto counter = [&](char label) {
    size_t p = rhs.find(label);
    return p != std::string::npos ? c[p] : std::string("l_") + label;
  };
  DType t = g_.values[size_t(r)].dtype;
  std::string ct = computeType(t), indent = "    ";
  os_ << indent << ct << " acc = " << literal(t, 0) << ";\n";
  std::string summed;
  for (const std::string &term : terms)
    for (char label : term)
      if (rhs.find(label) == std::string::npos && summed.find(label) == std::string::npos)
        summed += label;
  for (char label : summed) {
    os_ << indent << "for (long long l_" << label << " = 0; l_" << label << " < " << dims[label]
        << "LL; ++l_" << label << ") {\n";
    indent += "  ";
  }
  std::string product;
  values_.openScope(); // what the operands' prologues declare lives in the innermost loop
  for (size_t i = 0; i < terms.size(); ++i) {
    std::vector<std::string> coords;
    for (char label : terms[i])
      coords.push_back(counter(label));
    int x = n_.operands[i];
    product += (product.empty() ? "" : " * ") +
               (values_.computed(x)
                    ? values_.at(x, coords, indent) // its prologue, declared before the sum
                    : loadAs(g_.values[size_t(x)].dtype,
                             w_.paramName(x) + "[" + viewOffsetOf(g_, x, coords) + "]"));
  }
  values_.closeScope();
  os_ << indent << "acc += " << product << ";\n";
  for (size_t k = 0; k < summed.size(); ++k) {
    indent.resize(indent.size() - 2);
    os_ << indent << "}\n";
  }
  os_ << "    " << w_.paramName(r) << "[e] = " << storeAs(t, "acc") << ";\n";
}

IntegerProduct MovementWriter::integerProduct() const {
  auto operand = [&](size_t i) { return i < n_.operands.size() ? n_.operands[i] : -1; };
  if (n_.op.rfind("QLinear", 0) == 0)
    return {operand(0), operand(3), operand(2), operand(5), operand(1), operand(4), true};
  return {operand(0), operand(1), operand(2), operand(3), -1, -1, false};
}

// A zero point or scale of an integer product: one value, or the one at `at` (a row, a column,
// an output channel); "0" when absent.
std::string MovementWriter::perTensorOr(int v, const std::string &at) const {
  if (v < 0)
    return "0";
  return numElements(shapeOf(v)) == 1 ? operandElement(v, "0") : operandElement(v, at);
}

// Stores an integer product's exact sum `acc` as it is (MatMulInteger, ConvInteger: int32) or
// requantized as the reference does (QLinearMatMul, QLinearConv: y_scale and y_zero_point are
// operands 6 and 7): the multiplier float(a_scale) * float(b_scale) / float(y_scale) in f32,
// then acc * multiplier + y_zero_point in double without FMA (__dmul_rn, __dadd_rn: NVRTC
// contracts by default), rounded half to even and saturated to y's type (int8 or uint8).
void MovementWriter::storeIntegerSum(const std::string &aScale, const std::string &bScale) {
  int r = n_.results.at(0);
  DType t = g_.values[size_t(r)].dtype;
  if (!integerProduct().quantized) {
    os_ << "    " << w_.paramName(r) << "[e] = " << storeAs(t, "acc") << ";\n";
    return;
  }
  if (t != DType::U8 && t != DType::I8)
    codegenError(g_, "node '" + n_.name + "' (" + n_.op + ") quantizes to " + dtypeName(t) +
                         "; generated kernels take int8 and uint8");
  std::string lo = t == DType::U8 ? "0.0" : "-128.0", hi = t == DType::U8 ? "255.0" : "127.0";
  os_ << "    const float mult = (float)" << aScale << " * (float)" << bScale << " / (float)"
      << perTensorOr(n_.operands.at(6), "0") << ";\n"
      << "    const double y = rint(__dadd_rn(__dmul_rn((double)acc, (double)mult), (double)"
      << perTensorOr(n_.operands.at(7), "0") << "));\n"
      << "    " << w_.paramName(r) << "[e] = "
      << storeAs(t, "(long long)fmin(fmax(y, " + lo + "), " + hi + ")") << ";\n";
}

// MatMulInteger and QLinearMatMul (matrices of rank 2 or more, batch dims broadcast): each
// output element sums (a - a_zero_point) * (b - b_zero_point) over K exactly, in long long,
// with zero points per tensor or per row of a / column of b (a_scale and b_scale alike), then
// storeIntegerSum.
void MovementWriter::integerMatMul(const std::vector<std::string> &c) {
  IntegerProduct p = integerProduct();
  int r = n_.results.at(0);
  const Shape &as = shapeOf(p.a), &bs = shapeOf(p.b), &os = shapeOf(r);
  if (as.size() < 2 || bs.size() < 2 || os.size() < 2 || as.back() != bs[bs.size() - 2])
    codegenError(g_, "node '" + n_.name + "' (" + n_.op + ") takes matrices, got " +
                         shapeToString(as) + " and " + shapeToString(bs));
  const std::string &i = c[os.size() - 2], &j = c[os.size() - 1];
  // Coordinates in `v` (batch dims right-aligned with the output's, broadcast where 1).
  auto element = [&](int v, const std::string &row, const std::string &col) {
    const Shape &s = shapeOf(v);
    std::vector<std::string> at;
    for (size_t d = 0; d + 2 < s.size(); ++d)
      at.push_back(s[d] == 1 ? "0" : c[os.size() - s.size() + d]);
    at.push_back(row);
    at.push_back(col);
    return loadAs(g_.values[size_t(v)].dtype, w_.paramName(v) + "[" + viewOffsetOf(g_, v, at) + "]");
  };
  os_ << "    long long acc = 0;\n"
      << "    for (long long l_k = 0; l_k < " << as.back() << "LL; ++l_k)\n"
      << "      acc += ((long long)" << element(p.a, i, "l_k") << " - (long long)"
      << perTensorOr(p.za, i) << ") * ((long long)" << element(p.b, "l_k", j) << " - (long long)"
      << perTensorOr(p.zb, j) << ");\n";
  storeIntegerSum(perTensorOr(p.sa, i), perTensorOr(p.sb, j));
}

} // namespace plumb::cuda
