// Sampling kernels (MovementWriter, see MovementWriter.h): Resize, from the taps the lowering
// computed with the reference's own sampling, and GridSample, whose sample points come from
// a run-time grid. One thread per output element, summing its taps.
#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/MovementWriter.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace plumb::cuda {

// Resize: the taps the lowering stored (ref::resizeTaps, the reference's own sampling) as
// one index and one weight table per resized axis, at file scope.
void MovementWriter::resizeTables() {
  std::vector<int64_t> count = n_.attrs.getInts("taps.count"), index = n_.attrs.getInts("taps.index"),
                       outside = n_.attrs.getInts("taps.outside");
  std::vector<double> weight = n_.attrs.getFloats("taps.weight");
  const Shape &out = shapeOf(n_.results.at(0));
  if (count.size() != out.size())
    codegenError(g_, "node '" + n_.name + "' (Resize) has no sampling taps for its rank");
  bool integer = !isFloat(g_.values[size_t(n_.operands.at(0))].dtype);
  size_t at = 0, atOut = 0;
  for (size_t d = 0; d < count.size(); ++d) {
    if (count[d] == 0)
      continue;
    size_t n = size_t(out[d] * count[d]);
    if (at + n > index.size() || at + n > weight.size() || atOut + size_t(out[d]) > outside.size())
      codegenError(g_, "node '" + n_.name + "' (Resize) has truncated sampling taps");
    auto table = [&](const char *type, const char *name, auto value) {
      os_ << "__device__ const " << type << " " << name << d << "[] = {";
      for (size_t i = 0; i < n; ++i)
        os_ << (i ? "," : "") << value(at + i);
      os_ << "};\n";
    };
    table("long long", "plumb_rindex", [&](size_t i) { return std::to_string(index[i]) + "LL"; });
    // A constant initializer (no __int_as_float: __device__ variables take no dynamic
    // initialization); 9 significant digits give the f32 value back exactly, 17 the double
    // (integers are interpolated in double, as the reference does).
    table(integer ? "double" : "float", "plumb_rweight", [&](size_t i) {
      char buf[40];
      if (integer)
        std::snprintf(buf, sizeof buf, "%.16e", weight[i]);
      else
        std::snprintf(buf, sizeof buf, "%.8ef", double(float(weight[i]))); // d.dddddddde±xx
      return std::string(buf);
    });
    bool anyOutside = false;
    for (size_t o = 0; o < size_t(out[d]); ++o)
      anyOutside = anyOutside || outside[atOut + o];
    if (anyOutside) {
      os_ << "__device__ const bool plumb_routside" << d << "[] = {";
      for (size_t o = 0; o < size_t(out[d]); ++o)
        os_ << (o ? "," : "") << (outside[atOut + o] ? "true" : "false");
      os_ << "};\n";
      outsideAxes_.push_back(d);
    }
    at += n;
    atOut += size_t(out[d]);
  }
}

// One output element: the sum over every combination of one tap per resized axis of the
// weights' product times the input element (axes not resized read their own coordinate).
// Integers as the reference computes them: in double, each product and sum rounded on its
// own (no FMA contraction), the result rounded half away from zero and saturated.
void MovementWriter::resize(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0);
  std::vector<int64_t> count = n_.attrs.getInts("taps.count");
  DType t = g_.values[size_t(r)].dtype;
  bool integer = !isFloat(t);
  std::string ct = integer ? "double" : computeType(t), wt = integer ? "double" : "float",
              indent = "    ";
  auto stored = [&](const std::string &v) {
    return integer ? storeAs(t, floatToInteger("round(" + v + ")", "double", t)) : storeAs(t, v);
  };
  if (!outsideAxes_.empty()) {
    os_ << "    if (";
    for (size_t i = 0; i < outsideAxes_.size(); ++i)
      os_ << (i ? " || " : "") << "plumb_routside" << outsideAxes_[i] << "[" << c[outsideAxes_[i]] << "]";
    double extrapolation = n_.attrs.getFloat("taps.extrapolation", 0.0);
    os_ << ") { " << w_.paramName(r) << "[e] = "
        << stored(literal(integer ? DType::F64 : t, extrapolation)) << "; continue; }\n";
  }
  os_ << "    " << ct << " acc = " << literal(integer ? DType::F64 : t, 0) << ";\n";
  std::vector<std::string> src(c.size()), w;
  for (size_t d = 0; d < count.size(); ++d) {
    if (count[d] == 0) {
      src[d] = c[d];
      continue;
    }
    std::string k = "k" + std::to_string(d), slot = c[d] + " * " + std::to_string(count[d]) + "LL + " + k;
    os_ << indent << "for (int " << k << " = 0; " << k << " < " << count[d] << "; ++" << k << ") {\n";
    indent += "  ";
    os_ << indent << "const long long i" << d << " = plumb_rindex" << d << "[" << slot << "];\n"
        << indent << "const " << wt << " w" << d << " = plumb_rweight" << d << "[" << slot << "];\n";
    src[d] = "i" + std::to_string(d);
    w.push_back("w" + std::to_string(d));
  }
  std::string product, value = loadAs(g_.values[size_t(x)].dtype,
                                      w_.paramName(x) + "[" + offsetOf(shapeOf(x), src) + "]");
  if (integer) {
    for (const std::string &f : w)
      product = product.empty() ? f : "__dmul_rn(" + product + ", " + f + ")";
    value = "(double)(" + value + ")";
    os_ << indent << "acc = __dadd_rn(acc, "
        << (product.empty() ? value : "__dmul_rn(" + product + ", " + value + ")") << ");\n";
  } else {
    for (const std::string &f : w)
      product += (product.empty() ? "" : " * ") + f;
    os_ << indent << "acc += " << (product.empty() ? "" : "(" + ct + ")(" + product + ") * ")
        << value << ";\n";
  }
  for (size_t d = 0; d < count.size(); ++d)
    if (count[d] != 0) {
      indent.resize(indent.size() - 2);
      os_ << indent << "}\n";
    }
  os_ << "    " << w_.paramName(r) << "[e] = " << stored("acc") << ";\n";
}

// GridSample's coordinate rules, as the reference (and ONNX Runtime) apply them, in double:
// a coordinate reflected into [lo, hi], Keys cubic weights (A = -0.75), the index a tap
// reads under the padding mode (-1: a zero).
void MovementWriter::gridSamplePrelude() {
  os_ << R"(__device__ double plumb_reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo || x > hi) {
    const double dx = x < lo ? lo - x : x - hi;
    const double n = floor(dx / range), r = dx - n * range;
    const bool even = fmod(n, 2.0) == 0;
    return (x < lo) == even ? lo + r : hi - r;
  }
  return x;
}
__device__ void plumb_cubic(double t, double *c) {
  const double a = -0.75;
  const double d0 = t + 1, d3 = 2 - t, d1 = t, d2 = 1 - t;
  c[0] = ((a * d0 - 5 * a) * d0 + 8 * a) * d0 - 4 * a;
  c[1] = ((a + 2) * d1 - (a + 3)) * d1 * d1 + 1;
  c[2] = ((a + 2) * d2 - (a + 3)) * d2 * d2 + 1;
  c[3] = ((a * d3 - 5 * a) * d3 + 8 * a) * d3 - 4 * a;
}
__device__ long long plumb_tap(long long i, long long size, double lo, double hi, int pad) {
  if (pad == 0) return i >= 0 && i < size ? i : -1;
  if (pad == 1) return i < 0 ? 0 : i >= size ? size - 1 : i;
  const long long j = (long long)plumb_reflect((double)i, lo, hi);
  return j < 0 ? 0 : j >= size ? size - 1 : j;
}
)";
}

// GridSample: X [N, C, D1..Dr], grid [N, O1..Or, r] (grid[..., 0] indexes the last spatial
// axis); each output element denormalises its grid point per axis (align_corners), rounds it
// (nearest), moves it into range (border, reflection), then sums the taps (1, 2 or 4 per
// axis) weighted as the reference does; a NaN grid value gives NaN.
void MovementWriter::gridSample(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0), grid = n_.operands.at(1);
  const Shape &in = shapeOf(x), &gs = shapeOf(grid);
  size_t nd = in.size() < 3 ? 0 : in.size() - 2;
  if (nd == 0 || gs.size() != in.size() || gs.back() != int64_t(nd))
    codegenError(g_, "node '" + n_.name + "' (GridSample) has a grid that does not fit X");
  std::string mode = n_.attrs.getString("mode", g_.opset >= 20 ? "linear" : "bilinear");
  int taps = mode == "nearest"                        ? 1
             : mode == "bilinear" || mode == "linear" ? 2
             : mode == "bicubic" || mode == "cubic"   ? 4
                                                      : 0;
  std::string padMode = n_.attrs.getString("padding_mode", "zeros");
  int pad = padMode == "zeros" ? 0 : padMode == "border" ? 1 : padMode == "reflection" ? 2 : -1;
  if (taps == 0 || pad < 0)
    codegenError(g_, "node '" + n_.name + "' (GridSample) has mode '" + mode + "', padding '" +
                         padMode + "'");
  bool align = n_.attrs.getInt("align_corners", 0) != 0;
  DType t = g_.values[size_t(r)].dtype;
  // Per axis: the valid coordinate range [lo, hi] as source literals.
  auto bound = [](double v) {
    char b[40];
    std::snprintf(b, sizeof b, "%.17g", v);
    return std::string(b);
  };
  std::vector<std::string> lo, hi;
  for (size_t d = 0; d < nd; ++d) {
    lo.push_back(bound(align ? 0.0 : -0.5));
    hi.push_back(bound(align ? double(in[d + 2] - 1) : double(in[d + 2]) - 0.5));
  }
  // The grid point of this output element: [n, o1..or, :].
  std::string point = c[0];
  for (size_t d = 0; d < nd; ++d)
    point = "(" + point + ") * " + std::to_string(gs[d + 1]) + "LL + " + c[d + 2];
  const std::string in4 = "    ";
  os_ << in4 << "const long long gp = (" << point << ") * " << nd << "LL;\n"
      << in4 << "bool nanv = false;\n";
  for (size_t d = 0; d < nd; ++d) {
    std::string xs = "x" + std::to_string(d), gd = "g" + std::to_string(d),
                ws = "w" + std::to_string(d), bs = "b" + std::to_string(d),
                size = std::to_string(in[d + 2]);
    os_ << in4 << "const double " << gd << " = (double)"
        << loadAs(g_.values[size_t(grid)].dtype,
                  w_.paramName(grid) + "[gp + " + std::to_string(nd - 1 - d) + "LL]")
        << ";\n"
        << in4 << "nanv = nanv || " << gd << " != " << gd << ";\n"
        << in4 << "double " << xs << " = "
        << (align ? "(" + gd + " + 1) / 2 * (double)(" + size + " - 1)"
                  : "((" + gd + " + 1) * (double)" + size + " - 1) / 2")
        << ";\n";
    if (taps == 1)
      os_ << in4 << xs << " = rint(" << xs << ");\n";
    if (pad == 1)
      os_ << in4 << "if (" << xs << " < " << lo[d] << " || " << xs << " > " << hi[d] << ") " << xs
          << " = fmin(fmax(" << xs << ", 0.0), (double)(" << size << " - 1));\n";
    if (pad == 2)
      os_ << in4 << xs << " = plumb_reflect(" << xs << ", " << lo[d] << ", " << hi[d] << ");\n";
    os_ << in4 << xs << " = fmin(fmax(" << xs << ", -1e9), 1e9);\n"
        << in4 << "double " << ws << "[4];\n";
    if (taps == 1)
      os_ << in4 << "const long long " << bs << " = (long long)rint(" << xs << ");\n"
          << in4 << ws << "[0] = 1;\n";
    else if (taps == 2)
      os_ << in4 << "const long long " << bs << " = (long long)floor(" << xs << ");\n"
          << in4 << ws << "[0] = (double)(" << bs << " + 1) - " << xs << ";\n"
          << in4 << ws << "[1] = " << xs << " - (double)" << bs << ";\n";
    else
      os_ << in4 << "const long long " << bs << " = (long long)floor(" << xs << ") - 1;\n"
          << in4 << "plumb_cubic(" << xs << " - (double)" << bs << " - 1, " << ws << ");\n";
  }
  os_ << in4 << "if (nanv) { " << w_.paramName(r) << "[e] = " << storeAs(t, literal(t, NAN))
      << "; continue; }\n"
      << in4 << "double acc = 0;\n";
  std::vector<std::string> src = {c[0], c[1]};
  std::string weight = "1.0", indent = in4;
  for (size_t d = 0; d < nd; ++d) {
    std::string ds = std::to_string(d);
    os_ << indent << "for (int k" << ds << " = 0; k" << ds << " < " << taps << "; ++k" << ds
        << ") {\n";
    indent += "  ";
    os_ << indent << "const long long i" << ds << " = plumb_tap(b" << ds << " + k" << ds << ", "
        << in[d + 2] << "LL, " << lo[d] << ", " << hi[d] << ", " << pad << ");\n"
        << indent << "if (i" << ds << " < 0) continue;\n";
    src.push_back("i" + ds);
    weight += " * w" + ds + "[k" + ds + "]";
  }
  os_ << indent << "acc += " << weight << " * (double)"
      << loadAs(g_.values[size_t(x)].dtype, w_.paramName(x) + "[" + offsetOf(in, src) + "]")
      << ";\n";
  for (size_t d = 0; d < nd; ++d) {
    indent.resize(indent.size() - 2);
    os_ << indent << "}\n";
  }
  os_ << in4 << w_.paramName(r) << "[e] = " << storeAs(t, "(float)acc") << ";\n";
}

} // namespace plumb::cuda
