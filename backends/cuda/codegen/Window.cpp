// Window kernels (MovementWriter, see MovementWriter.h): a body of one op whose output
// elements each read a window or a line of the input rather than one element: pools, LRN,
// CumSum, TopK and ArgMax/ArgMin (Einsum: Einsum.cpp; Resize and GridSample: Sampling.cpp;
// the scatters: Scatter.cpp).
#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/MovementWriter.h"

#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace plumb::cuda {

// A window's geometry over the spatial dims of `in` (N×C×spatial) for `out`: kernel (the
// node's kernel_shape, else `kernel`), strides, dilations, and the leading and trailing pads
// from pads or auto_pad (SAME_UPPER/SAME_LOWER split the total padding, VALID none).
struct Window {
  std::vector<int64_t> k, st, dil, pb, pe;
};

Window windowOf(const KernelGraph &g, const KNode &n, const Shape &in, const Shape &out,
                std::vector<int64_t> kernel) {
  size_t sp = in.size() - 2;
  std::vector<int64_t> ones(sp, 1), zeros(sp, 0);
  Window w{n.attrs.getInts("kernel_shape", kernel), n.attrs.getInts("strides", ones),
           n.attrs.getInts("dilations", ones), zeros, zeros};
  std::vector<int64_t> pads = n.attrs.getInts("pads", std::vector<int64_t>(2 * sp, 0));
  if (w.k.size() != sp || w.st.size() != sp || w.dil.size() != sp || pads.size() != 2 * sp)
    codegenError(g, "node '" + n.name + "' (" + n.op + ") has window attributes of the wrong rank");
  std::string autoPad = n.attrs.getString("auto_pad", "NOTSET");
  for (size_t j = 0; j < sp; ++j) {
    w.pb[j] = pads[j], w.pe[j] = pads[j + sp];
    if (autoPad == "VALID")
      w.pb[j] = w.pe[j] = 0;
    else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t total = std::max<int64_t>(
          0, (out[j + 2] - 1) * w.st[j] + (w.k[j] - 1) * w.dil[j] + 1 - in[j + 2]);
      w.pb[j] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pe[j] = total - w.pb[j];
    }
  }
  return w;
}

// The lowest finite value of a type MaxPool takes (its reference starts from it).
static double lowestOf(const KernelGraph &g, const KNode &n, DType t) {
  switch (t) {
  case DType::F32: return -3.4028234663852886e38;
  case DType::F16: return -65504.0;
  case DType::BF16: return -3.3895313892515355e38;
  case DType::F64: return -1.7976931348623157e308;
  default:
    if (std::optional<std::pair<double, double>> r = integerRange(t))
      return r->first;
    codegenError(g, "node '" + n.name + "' (" + n.op + ") pools " + dtypeName(t));
  }
}

// Pools over N×C×spatial: each output element walks its window (windowOf), skipping taps
// outside the input; AveragePool divides by the taps inside the input, or inside the padded
// input with count_include_pad; LpPool sums |x|^p and takes the p-th root. Global pools have
// the whole plane as window. Arithmetic in the compute type. Maxima as the reference (and
// ONNX Runtime's MaxPool, and oneDNN's pooling) take them: from the type's lowest value, the
// first tap greater than what it has, skipping NaN; MaxPool's Indices are the flat index
// into x (the spatial part column-major with storage_order 1).
void MovementWriter::pool(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0);
  int indices = n_.results.size() > 1 && !w_.paramName(n_.results[1]).empty() ? n_.results[1] : -1;
  const Shape &in = shapeOf(x), &out = shapeOf(r);
  size_t sp = in.size() < 2 ? 0 : in.size() - 2;
  if (sp == 0)
    codegenError(g_, "node '" + n_.name + "' (" + n_.op + ") pools a tensor without spatial dims");
  bool global = n_.op.rfind("Global", 0) == 0, isMax = n_.op.find("Max") != std::string::npos;
  Window win{std::vector<int64_t>(in.begin() + 2, in.end()), std::vector<int64_t>(sp, 1),
             std::vector<int64_t>(sp, 1), std::vector<int64_t>(sp, 0), std::vector<int64_t>(sp, 0)};
  if (!global)
    win = windowOf(g_, n_, in, out, {});
  const std::vector<int64_t> &k = win.k, &st = win.st, &dil = win.dil, &pb = win.pb, &pe = win.pe;
  // LpPool/GlobalLpPool: the sum of |x|^p over the window, then its p-th root (p an int
  // attribute, a float in opset 1).
  bool lp = n_.op.find("LpPool") != std::string::npos;
  double p = 2;
  if (const ref::AttrValue *pv = lp ? n_.attrs.find("p") : nullptr)
    p = pv->kind == ref::AttrValue::Kind::Float ? pv->f : double(pv->i);
  if (!(p > 0))
    codegenError(g_, "node '" + n_.name + "' (" + n_.op + ") has p <= 0");
  DType t = g_.values[size_t(r)].dtype;
  std::string ct = computeType(t);
  std::string magnitude = "(v < 0 ? -v : v)";
  std::string term = !lp ? "v" : p == 1 ? magnitude : p == 2 ? "v * v"
                   : "pow(" + magnitude + ", " + literal(t, p) + ")";
  os_ << "    " << ct << " acc = " << (isMax ? literal(t, lowestOf(g_, n_, t)) : literal(t, 0))
      << ";\n"
      << "    long long valid = 0, padded = 0, best = -1;\n";
  std::vector<std::string> s;
  std::string inside = "true", indent = "    ";
  for (size_t j = 0; j < sp; ++j) {
    std::string pj = "p" + std::to_string(j), kj = "k" + std::to_string(j);
    os_ << indent << "for (long long " << kj << " = 0; " << kj << " < " << k[j] << "LL; ++" << kj
        << ") {\n";
    indent += "  ";
    os_ << indent << "const long long " << pj << " = " << c[j + 2] << " * " << st[j] << "LL - "
        << pb[j] << "LL + " << kj << " * " << dil[j] << "LL;\n"
        << indent << "if (" << pj << " < -" << pb[j] << "LL || " << pj << " >= " << in[j + 2] + pe[j]
        << "LL) continue;\n";
    inside += " && " + pj + " >= 0 && " + pj + " < " + std::to_string(in[j + 2]) + "LL";
    s.push_back(pj);
  }
  std::vector<std::string> src = {c[0], c[1]};
  src.insert(src.end(), s.begin(), s.end());
  os_ << indent << "++padded;\n"
      << indent << "if (!(" << inside << ")) continue;\n"
      << indent << "const " << ct << " v = "
      << loadAs(g_.values[size_t(x)].dtype, w_.paramName(x) + "[" + offsetOf(in, src) + "]")
      << ";\n"
      << indent << "++valid;\n";
  if (isMax) {
    // The index: the plane's offset (n * C + c) times its size, plus the spatial position.
    std::string spatial;
    if (n_.attrs.getInt("storage_order", 0) != 0) {
      int64_t mult = 1;
      for (size_t j = 0; j < sp; ++j, mult *= in[j + 1])
        spatial += (j ? " + " : "") + s[j] + " * " + std::to_string(mult) + "LL";
    } else {
      spatial = offsetOf(Shape(in.begin() + 2, in.end()), s);
    }
    os_ << indent << "if (v == v && (best < 0 || v > acc)) { acc = v; best = (" << c[0] << " * "
        << in[1] << "LL + " << c[1] << ") * " << numElements(Shape(in.begin() + 2, in.end()))
        << "LL + " << spatial << "; }\n";
  } else {
    os_ << indent << "acc += " << term << ";\n";
  }
  for (size_t j = 0; j < sp; ++j) {
    indent.resize(indent.size() - 2);
    os_ << indent << "}\n";
  }
  std::string result = "acc";
  if (lp)
    result = p == 1 ? "acc" : p == 2 ? "sqrt(acc)" : "pow(acc, " + literal(t, 1 / p) + ")";
  else if (!isMax)
    result = "acc / (" + ct + ")" +
             (n_.attrs.getInt("count_include_pad", 0) ? "padded" : "valid");
  os_ << "    (void)valid; (void)padded; (void)best;\n"
      << "    " << w_.paramName(r) << "[e] = " << storeAs(t, result) << ";\n";
  if (indices >= 0)
    os_ << "    " << w_.paramName(indices) << "[e] = "
        << storeAs(g_.values[size_t(indices)].dtype, "best") << ";\n";
}

// ConvInteger and QLinearConv over N×C×spatial (groups, strides, dilations, pads or
// auto_pad: windowOf): each output element sums (x - x_zero_point) * (w - w_zero_point) over
// its group's channels and its window exactly, in long long, taps outside x adding nothing
// (padding with the zero point); w's zero point and scale per tensor or per output channel.
// QLinearConv adds its int32 bias; then storeIntegerSum.
void MovementWriter::integerConv(const std::vector<std::string> &c) {
  IntegerProduct p = integerProduct();
  int r = n_.results.at(0), x = p.a, w = p.b;
  const Shape &in = shapeOf(x), &ws = shapeOf(w), &out = shapeOf(r);
  int64_t group = n_.attrs.getInt("group", 1);
  if (in.size() < 3 || ws.size() != in.size() || out.size() != in.size() || group < 1 ||
      in[1] % group != 0 || ws[0] % group != 0 || ws[1] * group != in[1])
    codegenError(g_, "node '" + n_.name + "' (" + n_.op + ") convolves " + shapeToString(in) +
                         " with " + shapeToString(ws) + " in " + std::to_string(group) + " groups");
  size_t sp = in.size() - 2;
  Window win = windowOf(g_, n_, in, out, std::vector<int64_t>(ws.begin() + 2, ws.end()));
  const std::string &m = c[1];
  os_ << "    long long acc = 0;\n"
      << "    const long long cbase = (" << m << " / " << ws[0] / group << "LL) * " << ws[1] << "LL;\n";
  std::string indent = "    ";
  os_ << indent << "for (long long ci = 0; ci < " << ws[1] << "LL; ++ci) {\n";
  indent += "  ";
  std::vector<std::string> xs = {c[0], "cbase + ci"}, wc = {m, "ci"};
  for (size_t j = 0; j < sp; ++j) {
    std::string pj = "p" + std::to_string(j), kj = "k" + std::to_string(j);
    os_ << indent << "for (long long " << kj << " = 0; " << kj << " < " << win.k[j] << "LL; ++"
        << kj << ") {\n";
    indent += "  ";
    os_ << indent << "const long long " << pj << " = " << c[j + 2] << " * " << win.st[j]
        << "LL - " << win.pb[j] << "LL + " << kj << " * " << win.dil[j] << "LL;\n"
        << indent << "if (" << pj << " < 0 || " << pj << " >= " << in[j + 2] << "LL) continue;\n";
    xs.push_back(pj);
    wc.push_back(kj);
  }
  os_ << indent << "acc += ((long long)"
      << loadAs(g_.values[size_t(x)].dtype, w_.paramName(x) + "[" + offsetOf(in, xs) + "]")
      << " - (long long)" << perTensorOr(p.za, "0") << ") * ((long long)"
      << loadAs(g_.values[size_t(w)].dtype, w_.paramName(w) + "[" + offsetOf(ws, wc) + "]")
      << " - (long long)" << perTensorOr(p.zb, m) << ");\n";
  for (size_t j = 0; j <= sp; ++j) {
    indent.resize(indent.size() - 2);
    os_ << indent << "}\n";
  }
  if (p.quantized && n_.operands.size() > 8 && n_.operands[8] >= 0) // the bias
    os_ << "    acc += (long long)" << perTensorOr(n_.operands[8], m) << ";\n";
  storeIntegerSum(perTensorOr(p.sa, "0"), perTensorOr(p.sb, m));
}

// LRN over N×C×...: each element divided by (bias + alpha / size * the sum of squares over
// the `size` channels around its own, clamped to those there are)^beta, in the compute type
// as the reference computes it.
void MovementWriter::lrn(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0);
  const Shape &in = shapeOf(x);
  int64_t size = n_.attrs.getInt("size", 0);
  if (in.size() < 3 || size < 1)
    codegenError(g_, "node '" + n_.name + "' (LRN) needs N x C x ... input and a positive size");
  double alpha = n_.attrs.getFloat("alpha", 1e-4), beta = n_.attrs.getFloat("beta", 0.75),
         bias = n_.attrs.getFloat("bias", 1.0);
  int64_t before = (size - 1) / 2, after = size - 1 - before;
  DType t = g_.values[size_t(r)].dtype, xt = g_.values[size_t(x)].dtype;
  std::string ct = computeType(t);
  std::vector<std::string> src = c;
  src[1] = "k";
  os_ << "    " << ct << " sq = 0;\n"
      << "    const long long lo = " << c[1] << " - " << before << "LL < 0 ? 0 : " << c[1] << " - "
      << before << "LL;\n"
      << "    const long long hi = " << c[1] << " + " << after << "LL > " << in[1] - 1 << "LL ? "
      << in[1] - 1 << "LL : " << c[1] << " + " << after << "LL;\n"
      << "    for (long long k = lo; k <= hi; ++k) {\n"
      << "      const " << ct << " v = " << loadAs(xt, w_.paramName(x) + "[" + offsetOf(in, src) + "]")
      << ";\n"
      << "      sq += v * v;\n"
      << "    }\n"
      << "    const " << ct << " v = " << loadAs(xt, w_.paramName(x) + "[" + offsetOf(in, c) + "]")
      << ";\n"
      << "    " << w_.paramName(r) << "[e] = "
      << storeAs(t, "v / pow(" + literal(t, bias) + " + " + literal(t, alpha) + " / " +
                        literal(t, double(size)) + " * sq, " + literal(t, beta) + ")")
      << ";\n";
}

// MaxUnpool of a MaxPool's Indices with the same window (marked plumb.indices_in_window by
// plumb-decompose-movement): one thread per output element looks through the input windows
// covering it (along each dim the i with i * stride - pad <= p < i * stride - pad + kernel)
// in flat order and takes the value of the last whose index names it, as the reference's
// writes in flat order leave it; 0 where none does, and past the unpooled shape (a larger
// output_shape). Without the mark an index may lie outside its window: refused.
void MovementWriter::maxUnpool(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0), ind = n_.operands.at(1);
  const Shape &in = shapeOf(x);
  size_t nd = in.size() - 2;
  std::vector<int64_t> k = n_.attrs.getInts("kernel_shape"),
                       st = n_.attrs.getInts("strides", std::vector<int64_t>(nd, 1)),
                       pads = n_.attrs.getInts("pads", std::vector<int64_t>(2 * nd, 0));
  if (!n_.attrs.getInt("plumb.indices_in_window", 0) || in.size() < 3 || shapeOf(ind) != in ||
      k.size() != nd || st.size() != nd || pads.size() != 2 * nd)
    codegenError(g_, "node '" + n_.name + "' (MaxUnpool): indices not known to lie in their window");
  std::vector<int64_t> unpooled = {in[0], in[1]};
  for (size_t d = 0; d < nd; ++d)
    unpooled.push_back((in[d + 2] - 1) * st[d] + k[d] - pads[d] - pads[d + nd]);
  DType t = g_.values[size_t(r)].dtype, xt = g_.values[size_t(x)].dtype, it = g_.values[size_t(ind)].dtype;
  std::string inside = "true", flat = "(" + c[0] + " * " + std::to_string(in[1]) + "LL + " + c[1] + ")";
  for (size_t d = 0; d < nd; ++d) {
    inside += " && " + c[d + 2] + " < " + std::to_string(unpooled[d + 2]) + "LL";
    flat = "(" + flat + " * " + std::to_string(unpooled[d + 2]) + "LL + " + c[d + 2] + ")";
  }
  os_ << "    " << computeType(t) << " v = 0;\n"
      << "    if (" << inside << ") {\n"
      << "      const long long want = " << flat << ";\n";
  std::string indent = "      ";
  std::vector<std::string> src = {c[0], c[1]};
  for (size_t d = 0; d < nd; ++d) {
    std::string i = "i" + std::to_string(d), p = c[d + 2], s = std::to_string(st[d]) + "LL";
    // first window reaching p: ceil((p + pad - kernel + 1) / stride), at least 0; last: (p + pad) / stride
    os_ << indent << "const long long lo" << d << "_ = " << p << " + " << pads[d] - k[d] + 1 << "LL;\n"
        << indent << "const long long lo" << d << " = lo" << d << "_ <= 0 ? 0 : (lo" << d << "_ + " << s
        << " - 1) / " << s << ";\n"
        << indent << "long long hi" << d << " = (" << p << " + " << pads[d] << "LL) / " << s << ";\n"
        << indent << "hi" << d << " = hi" << d << " > " << in[d + 2] - 1 << "LL ? " << in[d + 2] - 1 << "LL : hi"
        << d << ";\n"
        << indent << "for (long long " << i << " = lo" << d << "; " << i << " <= hi" << d << "; ++" << i
        << ") {\n";
    indent += "  ";
    src.push_back(i);
  }
  std::string at = offsetOf(in, src);
  os_ << indent << "if ((long long)" << loadAs(it, w_.paramName(ind) + "[" + at + "]") << " == want) v = "
      << loadAs(xt, w_.paramName(x) + "[" + at + "]") << ";\n";
  for (size_t d = nd; d-- > 0;) {
    indent.resize(indent.size() - 2);
    os_ << indent << "}\n";
  }
  os_ << "    }\n"
      << "    " << w_.paramName(r) << "[e] = " << storeAs(t, "v") << ";\n";
}

// CumSum along a constant axis: one thread per line along the axis, summing in order
// (exclusive: the sum before the element; reverse: from the end).
void MovementWriter::cumSum() {
  int r = n_.results.at(0), x = n_.operands.at(0);
  if (w_.paramName(r).empty())
    return;
  const Shape &in = shapeOf(x);
  std::vector<int64_t> ax = intOperand(g_, n_, 1);
  if (ax.size() != 1)
    codegenError(g_, "node '" + n_.name + "' (CumSum) needs one axis");
  int64_t rank = int64_t(in.size()), axis = normalizeAxis(g_, n_, ax[0], rank);
  int64_t len = in[size_t(axis)], inner = 1;
  for (int64_t k = axis + 1; k < rank; ++k)
    inner *= in[size_t(k)];
  int64_t lines = len == 0 ? 0 : numElements(in) / len;
  largest_ = std::max(largest_, lines);
  bool exclusive = n_.attrs.getInt("exclusive", 0), reverse = n_.attrs.getInt("reverse", 0);
  DType t = g_.values[size_t(r)].dtype;
  std::string ct = computeType(t);
  // The data element at flat index e: itself, or through its strided view decoded into
  // coordinates.
  std::string src = "e";
  if (g_.strides.count(x)) {
    std::vector<int64_t> st = ref::stridesOf(in);
    std::vector<std::string> c;
    for (size_t k = 0; k < in.size(); ++k)
      c.push_back("(e / " + std::to_string(st[k]) + "LL) % " + std::to_string(in[k]) + "LL");
    src = viewOffsetOf(g_, x, c);
  }
  os_ << "  for (long long line = blockIdx.x * (long long)blockDim.x + threadIdx.x; line < "
      << lines << "LL; line += (long long)gridDim.x * blockDim.x) {\n"
      << "    const long long base = (line / " << inner << "LL) * " << len * inner
      << "LL + line % " << inner << "LL;\n"
      << "    " << ct << " acc = " << literal(t, 0) << ";\n"
      << "    for (long long i = 0; i < " << len << "LL; ++i) {\n"
      << "      const long long e = base + " << (reverse ? "(" + std::to_string(len - 1) + "LL - i)" : "i")
      << " * " << inner << "LL;\n";
  if (values_.computed(x)) { // its prologue computed at the element's coordinates
    std::vector<int64_t> st = ref::stridesOf(in);
    std::vector<std::string> c;
    for (size_t k = 0; k < in.size(); ++k)
      c.push_back(in[k] == 1 ? "0"
                             : "((e / " + std::to_string(st[k]) + "LL) % " +
                                   std::to_string(in[k]) + "LL)");
    values_.openScope();
    std::string v = values_.at(x, c, "      ");
    values_.closeScope();
    os_ << "      const " << ct << " v = " << v << ";\n";
  } else {
    os_ << "      const " << ct << " v = "
        << loadAs(g_.values[size_t(x)].dtype, w_.paramName(x) + "[" + src + "]") << ";\n";
  }
  if (exclusive)
    os_ << "      " << w_.paramName(r) << "[e] = " << storeAs(t, "acc") << ";\n"
        << "      acc += v;\n";
  else
    os_ << "      acc += v;\n"
        << "      " << w_.paramName(r) << "[e] = " << storeAs(t, "acc") << ";\n";
  os_ << "    }\n  }\n";
}

// TopK: one thread per input element counts the elements of its line ordered before it
// (the reference's order: by value, NaN the largest, ties by index), stopping at K; an
// element with fewer than K before it is the result at that rank. O(len) per element at
// worst, far less for a small K, since most elements find K larger ones early.
void MovementWriter::topK() {
  int x = n_.operands.at(0), values = n_.results.at(0), indices = n_.results.at(1);
  const Shape &in = shapeOf(x);
  int64_t rank = int64_t(in.size());
  if (rank == 0)
    codegenError(g_, "node '" + n_.name + "' (TopK) of a scalar");
  int64_t axis = normalizeAxis(g_, n_, n_.attrs.getInt("axis", -1), rank);
  std::vector<int64_t> kv = g_.opset < 10 ? std::vector<int64_t>{n_.attrs.getInt("k", -1)}
                                          : intOperand(g_, n_, 1);
  int64_t len = in[size_t(axis)], inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= in[size_t(d)];
  if (kv.size() != 1 || kv[0] < 0 || kv[0] > len)
    codegenError(g_, "node '" + n_.name + "' (TopK) needs one constant K in [0, " +
                         std::to_string(len) + "]");
  int64_t k = kv[0], n = numElements(in);
  largest_ = std::max(largest_, n);
  bool largest = n_.attrs.getInt("largest", 1) != 0;
  DType t = g_.values[size_t(x)].dtype;
  std::string ct = computeType(t), px = w_.paramName(x);
  // before(a, b): a comes first. NaN is the largest value, so it leads when largest and
  // trails otherwise.
  std::string a = largest ? "a" : "b", b = largest ? "b" : "a";
  os_ << "  auto before = [](" << ct << " a, " << ct << " b) { return " << a << " != " << a
      << " ? " << b << " == " << b << " : (" << b << " == " << b << " && " << a << " > " << b
      << "); };\n"
      << "  for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < " << n
      << "LL; e += (long long)gridDim.x * blockDim.x) {\n"
      << "    const long long p = (e / " << inner << "LL) % " << len << "LL, i = e % " << inner
      << "LL, o = e / " << len * inner << "LL;\n"
      << "    const long long base = o * " << len * inner << "LL + i;\n"
      << "    const " << ct << " v = " << loadAs(t, px + "[e]") << ";\n"
      << "    long long r = 0;\n"
      << "    for (long long q = 0; q < " << len << "LL && r < " << k << "LL; ++q) {\n"
      << "      const " << ct << " u = " << loadAs(t, px + "[base + q * " + std::to_string(inner) + "LL]") << ";\n"
      << "      r += before(u, v) || (q < p && !before(v, u));\n"
      << "    }\n"
      << "    if (r >= " << k << "LL) continue;\n"
      << "    const long long at = o * " << k * inner << "LL + r * " << inner << "LL + i;\n";
  DType tv = g_.values[size_t(values)].dtype; // f32 or half beside x with --keep-f32
  if (!w_.paramName(values).empty())
    os_ << "    " << w_.paramName(values) << "[at] = "
        << (tv == t ? px + "[e]" : storeAs(tv, "v")) << ";\n";
  if (!w_.paramName(indices).empty())
    os_ << "    " << w_.paramName(indices) << "[at] = p;\n";
  os_ << "  }\n";
}

// Operand `v`'s element `i` in its compute type: loaded from its buffer, or its constant
// folded into the source.
std::string MovementWriter::operandElement(int v, const std::string &i) const {
  DType vt = g_.values[size_t(v)].dtype;
  if (auto c = g_.scalars.find(v); c != g_.scalars.end())
    return literal(vt, c->second);
  return loadAs(vt, w_.paramName(v) + "[" + i + "]");
}

// ArgMax/ArgMin: one thread per output element scans its line in order, as the reference:
// the first NaN wins; otherwise the extreme value, ties going to the first index (the last
// with select_last_index).
void MovementWriter::argExtreme(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0);
  const Shape &in = shapeOf(x);
  int64_t rank = int64_t(in.size()), axis = normalizeAxis(g_, n_, n_.attrs.getInt("axis", 0), rank);
  bool keep = n_.attrs.getInt("keepdims", 1) != 0, last = n_.attrs.getInt("select_last_index", 0);
  if (in[size_t(axis)] == 0)
    codegenError(g_, "node '" + n_.name + "' (" + n_.op + ") over an empty axis");
  std::vector<std::string> src;
  for (int64_t k = 0; k < rank; ++k)
    src.push_back(k == axis ? "k" : c[size_t(keep || k < axis ? k : k - 1)]);
  DType t = g_.values[size_t(x)].dtype;
  std::string ct = computeType(t), load = loadAs(t, w_.paramName(x) + "[" + offsetOf(in, src) + "]");
  os_ << "    long long best = 0;\n"
      << "    " << ct << " bv;\n"
      << "    for (long long k = 0; k < " << in[size_t(axis)] << "LL; ++k) {\n"
      << "      const " << ct << " v = " << load << ";\n"
      << "      if (k == 0) { bv = v; continue; }\n"
      << "      if (bv != bv) break;\n"
      << "      if (v != v || v " << (n_.op == "ArgMax" ? ">" : "<") << " bv"
      << (last ? " || v == bv" : "") << ") { best = k; bv = v; }\n"
      << "    }\n"
      << "    " << w_.paramName(r) << "[e] = best;\n";
}

// Whether ArgMax/ArgMin runs block-parallel: its axis is the innermost non-trivial dim (a
// line is contiguous) and long enough that one thread scanning it is the slow part (a
// batch-1 LM head's argmax over the vocabulary).
bool MovementWriter::argByBlocks() const {
  const Shape &in = shapeOf(n_.operands.at(0));
  int64_t rank = int64_t(in.size()), axis = normalizeAxis(g_, n_, n_.attrs.getInt("axis", 0), rank);
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= in[size_t(d)];
  return inner == 1 && in[size_t(axis)] >= kArgBlockLine;
}

// ArgMax/ArgMin over long contiguous lines: one block of 256 per line; each thread keeps the
// best (value, index) of its strided share, then warps and the block combine. "Better" is a
// total order, so the combining order does not matter: a NaN beats any number and the
// lower-indexed NaN another NaN (the reference's first NaN), else the larger (smaller) value,
// equal values going to the lower index (the higher with select_last_index).
void MovementWriter::argRows() {
  int r = n_.results.at(0), x = n_.operands.at(0);
  const Shape &in = shapeOf(x);
  int64_t rank = int64_t(in.size()), axis = normalizeAxis(g_, n_, n_.attrs.getInt("axis", 0), rank);
  int64_t len = in[size_t(axis)], rows = numElements(in) / len;
  bool last = n_.attrs.getInt("select_last_index", 0);
  DType t = g_.values[size_t(x)].dtype;
  std::string ct = computeType(t);
  blockRows_ = rows;
  os_ << "  auto better = [](" << ct << " v, long long i, " << ct << " bv, long long bi) {\n"
      << "    if (bi < 0) return i >= 0;\n"
      << "    if (i < 0) return false;\n"
      << "    if (v != v || bv != bv) return v != v && (bv == bv || i < bi);\n"
      << "    if (v != bv) return v " << (n_.op == "ArgMax" ? ">" : "<") << " bv;\n"
      << "    return i " << (last ? ">" : "<") << " bi;\n"
      << "  };\n"
      << "  __shared__ " << ct << " sv[32];\n"
      << "  __shared__ long long si[32];\n"
      << "  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;\n"
      << "  for (long long row = blockIdx.x; row < " << rows << "LL; row += gridDim.x) {\n"
      << "    " << ct << " bv = " << literal(t, 0) << ";\n"
      << "    long long bi = -1;\n"
      << "    for (long long j = threadIdx.x; j < " << len << "LL; j += blockDim.x) {\n"
      << "      const " << ct << " v = " << loadAs(t, w_.paramName(x) + "[row * " + std::to_string(len) + "LL + j]") << ";\n"
      << "      if (better(v, j, bv, bi)) { bv = v; bi = j; }\n"
      << "    }\n"
      << "    for (int pass = 0; pass < 2; ++pass) {\n"
      << "      for (int o = 16; o > 0; o >>= 1) {\n"
      << "        const " << ct << " ov = __shfl_xor_sync(0xffffffffu, bv, o);\n"
      << "        const long long oi = __shfl_xor_sync(0xffffffffu, bi, o);\n"
      << "        if (better(ov, oi, bv, bi)) { bv = ov; bi = oi; }\n"
      << "      }\n"
      << "      if (pass == 1) break;\n"
      << "      __syncthreads();\n"
      << "      if (lane == 0) { sv[warp] = bv; si[warp] = bi; }\n"
      << "      __syncthreads();\n"
      << "      bv = lane < warps ? sv[lane] : bv;\n"
      << "      bi = lane < warps ? si[lane] : -1;\n"
      << "    }\n"
      << "    if (threadIdx.x == 0) " << w_.paramName(r) << "[row] = bi;\n"
      << "  }\n";
}

} // namespace plumb::cuda
