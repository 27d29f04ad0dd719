// Image and detection kernels (MovementWriter, see MovementWriter.h), each an op the
// reference keeps in kernels/Image.cpp, Detection.cpp or Misc.cpp and that ran on the host
// before: Col2Im, Det, RoiAlign and DeformConv, one thread per output element (a matrix for
// Det), each computing in the reference's order.
#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/MovementWriter.h"

#include <string>
#include <vector>

namespace plumb::cuda {

// Col2Im: one thread per image element sums, in the reference's order (block position k
// ascending), the column entries whose window covers it. Along each spatial dim the window
// position is (p + pad_begin - k_d * dilation) / stride where that divides and lies in the
// window grid; input [N, C * prod(block), L] with L the grid's positions, row-major.
void MovementWriter::col2Im(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0);
  std::vector<int64_t> image = intOperand(g_, n_, 1), block = intOperand(g_, n_, 2);
  size_t dims = image.size();
  const Shape &in = shapeOf(x), &out = shapeOf(r);
  auto ints = [&](const char *name, std::vector<int64_t> fallback) {
    std::vector<int64_t> v = n_.attrs.getInts(name);
    return v.empty() ? fallback : v;
  };
  std::vector<int64_t> dil = ints("dilations", std::vector<int64_t>(dims, 1)),
                       stride = ints("strides", std::vector<int64_t>(dims, 1)),
                       pads = ints("pads", std::vector<int64_t>(2 * dims, 0));
  int64_t blockSize = 1;
  for (int64_t b : block)
    blockSize *= b;
  if (dims == 0 || block.size() != dims || in.size() != 3 || out.size() != dims + 2 ||
      dil.size() != dims || stride.size() != dims || pads.size() != 2 * dims || blockSize < 1 ||
      in[1] % blockSize != 0)
    codegenError(g_, "node '" + n_.name + "' (Col2Im) has block, image, input and attributes that "
                     "do not agree");
  std::vector<int64_t> grid(dims), gridStride(dims, 1), blockStride(dims, 1);
  for (size_t d = 0; d < dims; ++d) {
    int64_t span = dil[d] * (block[d] - 1) + 1, padded = image[d] + pads[d] + pads[d + dims];
    grid[d] = padded < span ? 0 : (padded - span) / stride[d] + 1;
  }
  for (size_t d = dims - 1; d-- > 0;) {
    gridStride[d] = gridStride[d + 1] * grid[d + 1];
    blockStride[d] = blockStride[d + 1] * block[d + 1];
  }
  int64_t cols = in[2];
  DType t = g_.values[size_t(r)].dtype, xt = g_.values[size_t(x)].dtype;
  std::string ct = computeType(t), k = std::to_string(blockSize) + "LL";
  os_ << "    " << ct << " acc = 0;\n"
      << "    for (long long k = 0; k < " << k << "; ++k) {\n"
      << "      long long l = 0;\n"
      << "      bool covered = true;\n";
  for (size_t d = 0; d < dims; ++d) {
    std::string td = "t" + std::to_string(d);
    os_ << "      const long long " << td << " = " << c[d + 2] << " + " << pads[d] << "LL - (k / "
        << blockStride[d] << "LL % " << block[d] << "LL) * " << dil[d] << "LL;\n"
        << "      covered = covered && " << td << " >= 0 && " << td << " % " << stride[d] << "LL == 0 && "
        << td << " / " << stride[d] << "LL < " << grid[d] << "LL;\n"
        << "      l += " << td << " / " << stride[d] << "LL * " << gridStride[d] << "LL;\n";
  }
  os_ << "      if (covered) acc += "
      << loadAs(xt, w_.paramName(x) + "[((" + c[0] + " * " + std::to_string(in[1]) + "LL + " + c[1] + " * " + k +
                        " + k) * " + std::to_string(cols) + "LL + l)]")
      << ";\n"
      << "    }\n"
      << "    " << w_.paramName(r) << "[e] = " << storeAs(t, "acc") << ";\n";
}

// Det: one thread per matrix of [..., M, M] computes the reference's LU with partial
// pivoting (the first largest |pivot| below the diagonal, a row swap negating) in double, in
// the reference's order; a zero pivot gives 0. M is at most 32 (the matrix lives in the
// thread's local memory).
void MovementWriter::det() {
  int r = n_.results.at(0), x = n_.operands.at(0);
  const Shape &in = shapeOf(x);
  if (in.size() < 2 || in.back() != in[in.size() - 2] || in.back() > 32)
    codegenError(g_, "node '" + n_.name + "' (Det) needs [..., M, M] with M at most 32, got " +
                         shapeToString(in));
  int64_t m = in.back();
  std::string n = std::to_string(m) + "LL";
  DType t = g_.values[size_t(r)].dtype, xt = g_.values[size_t(x)].dtype;
  loop(r, [&](const std::vector<std::string> &) {
    os_ << "    double a[" << m * m << "];\n"
        << "    for (long long i = 0; i < " << m * m << "LL; ++i)\n"
        << "      a[i] = (double)" << loadAs(xt, w_.paramName(x) + "[e * " + std::to_string(m * m) + "LL + i]")
        << ";\n"
        << "    double det = 1;\n"
        << "    for (long long col = 0; col < " << n << "; ++col) {\n"
        << "      long long pivot = col;\n"
        << "      for (long long row = col + 1; row < " << n << "; ++row)\n"
        << "        if (fabs(a[row * " << n << " + col]) > fabs(a[pivot * " << n << " + col])) pivot = row;\n"
        << "      if (a[pivot * " << n << " + col] == 0) { det = 0; break; }\n"
        << "      if (pivot != col) {\n"
        << "        for (long long k = 0; k < " << n << "; ++k) {\n"
        << "          const double s = a[pivot * " << n << " + k];\n"
        << "          a[pivot * " << n << " + k] = a[col * " << n << " + k];\n"
        << "          a[col * " << n << " + k] = s;\n"
        << "        }\n"
        << "        det = -det;\n"
        << "      }\n"
        << "      const double p = a[col * " << n << " + col];\n"
        << "      det *= p;\n"
        << "      for (long long row = col + 1; row < " << n << "; ++row) {\n"
        << "        const double f = a[row * " << n << " + col] / p;\n"
        << "        for (long long k = col; k < " << n << "; ++k) a[row * " << n << " + k] -= f * a[col * " << n
        << " + k];\n"
        << "      }\n"
        << "    }\n"
        << "    " << w_.paramName(r) << "[e] = " << storeAs(t, "(" + computeType(t) + ")det") << ";\n";
  });
}

// RoiAlign: one thread per output bin (roi, channel, ph, pw) loads its roi's box and batch
// index at run time and, in double as the reference (ONNX Runtime's convention), averages (or
// takes the largest weighted corner of) the bilinear samples of a grid of sampling_ratio (or
// ceil(roi size / output size)) points per bin; a sample more than a pixel outside gives 0.
// A batch index outside [0, N) (which the reference refuses) reads batch 0 and fails the run
// (checksIndices).
void MovementWriter::roiAlign(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0), rois = n_.operands.at(1), batch = n_.operands.at(2);
  const Shape &in = shapeOf(x);
  std::string mode = n_.attrs.getString("coordinate_transformation_mode",
                                        g_.opset >= 16 ? "half_pixel" : "output_half_pixel");
  std::string pool = n_.attrs.getString("mode", "avg");
  int64_t outH = n_.attrs.getInt("output_height", 1), outW = n_.attrs.getInt("output_width", 1),
          ratio = n_.attrs.getInt("sampling_ratio", 0);
  if (in.size() != 4 || (mode != "half_pixel" && mode != "output_half_pixel") ||
      (pool != "avg" && pool != "max") || outH < 1 || outW < 1 || ratio < 0)
    codegenError(g_, "node '" + n_.name + "' (RoiAlign) has an input or attributes it cannot take");
  bool legacy = mode == "output_half_pixel", maxMode = pool == "max";
  std::string scale = literal(DType::F64, n_.attrs.getFloat("spatial_scale", 1.0)),
              offset = legacy ? "0.0" : "0.5", h = std::to_string(in[2]), w = std::to_string(in[3]);
  DType t = g_.values[size_t(r)].dtype, xt = g_.values[size_t(x)].dtype, rt = g_.values[size_t(rois)].dtype,
        bt = g_.values[size_t(batch)].dtype;
  auto roi = [&](int k) {
    return "(double)" + loadAs(rt, w_.paramName(rois) + "[" + c[0] + " * 4LL + " + std::to_string(k) + "]");
  };
  os_ << "    long long b = (long long)" << loadAs(bt, w_.paramName(batch) + "[" + c[0] + "]") << ";\n"
      << "    if (b < 0 || b >= " << in[0] << "LL) { atomicCAS(plumb_status, 0, plumb_step); b = 0; }\n"
      << "    const long long plane = (b * " << in[1] << "LL + " << c[1] << ") * " << in[2] * in[3] << "LL;\n"
      << "    const double x0 = " << roi(0) << " * " << scale << " - " << offset << ", y0 = " << roi(1)
      << " * " << scale << " - " << offset << ";\n"
      << "    double rw = " << roi(2) << " * " << scale << " - " << offset << " - x0, rh = " << roi(3)
      << " * " << scale << " - " << offset << " - y0;\n";
  if (legacy)
    os_ << "    rw = rw > 1.0 ? rw : 1.0; rh = rh > 1.0 ? rh : 1.0;\n";
  os_ << "    const double bh = rh / " << outH << ".0, bw = rw / " << outW << ".0;\n";
  if (ratio > 0)
    os_ << "    const long long gh = " << ratio << "LL, gw = " << ratio << "LL;\n";
  else
    os_ << "    const long long gh = (long long)ceil(rh / " << outH << ".0), gw = (long long)ceil(rw / " << outW
        << ".0);\n";
  os_ << "    double acc = 0;\n"
      << "    bool first = true;\n"
      << "    for (long long iy = 0; iy < gh; ++iy)\n"
      << "      for (long long ix = 0; ix < gw; ++ix) {\n"
      << "        double y = y0 + (double)" << c[2] << " * bh + ((double)iy + 0.5) * bh / (double)gh;\n"
      << "        double x = x0 + (double)" << c[3] << " * bw + ((double)ix + 0.5) * bw / (double)gw;\n"
      << "        double tap[4] = {0, 0, 0, 0};\n"
      << "        if (!(y < -1.0 || y > " << h << ".0 || x < -1.0 || x > " << w << ".0)) {\n"
      << "          y = y > 0 ? y : 0; x = x > 0 ? x : 0;\n"
      << "          long long ya = (long long)y, xa = (long long)x, yb = ya + 1, xb = xa + 1;\n"
      << "          if (ya >= " << h << "LL - 1) { ya = yb = " << h << "LL - 1; y = (double)ya; }\n"
      << "          if (xa >= " << w << "LL - 1) { xa = xb = " << w << "LL - 1; x = (double)xa; }\n"
      << "          const double ly = y - (double)ya, lx = x - (double)xa, hy = 1 - ly, hx = 1 - lx;\n";
  auto at = [&](const char *yy, const char *xx) {
    return "(double)" + loadAs(xt, w_.paramName(x) + "[plane + " + yy + " * " + w + "LL + " + xx + "]");
  };
  os_ << "          tap[0] = hy * hx * " << at("ya", "xa") << ";\n"
      << "          tap[1] = hy * lx * " << at("ya", "xb") << ";\n"
      << "          tap[2] = ly * hx * " << at("yb", "xa") << ";\n"
      << "          tap[3] = ly * lx * " << at("yb", "xb") << ";\n"
      << "        }\n";
  if (maxMode)
    os_ << "        double m = fmax(fmax(tap[0], tap[1]), fmax(tap[2], tap[3]));\n"
        << "        acc = first ? m : fmax(acc, m);\n"
        << "        first = false;\n";
  else
    os_ << "        acc += tap[0] + tap[1] + tap[2] + tap[3];\n";
  os_ << "      }\n";
  if (!maxMode)
    os_ << "    acc /= (double)(gh * gw > 1 ? gh * gw : 1);\n";
  os_ << "    " << w_.paramName(r) << "[e] = " << storeAs(t, "(" + computeType(t) + ")acc") << ";\n";
}

// DeformConv (2-D): one thread per output element sums, in the reference's order (input
// channel of its group, then tap), the weight times the input sampled bilinearly (in double,
// zeros outside: torchvision's convention) at the tap's position moved by its run-time offset,
// times the mask when given, accumulating in the compute type as the reference does in the
// op's. Naive (no im2col, no GEMM): every output element reads its C / group x kH x kW taps.
void MovementWriter::deformConv(const std::vector<std::string> &c) {
  int r = n_.results.at(0), x = n_.operands.at(0), wt = n_.operands.at(1), off = n_.operands.at(2);
  int bias = n_.operands.size() > 3 ? n_.operands[3] : -1, mask = n_.operands.size() > 4 ? n_.operands[4] : -1;
  const Shape &in = shapeOf(x), &ws = shapeOf(wt), &out = shapeOf(r);
  int64_t group = n_.attrs.getInt("group", 1), og = n_.attrs.getInt("offset_group", 1);
  std::vector<int64_t> dil = n_.attrs.getInts("dilations"), st = n_.attrs.getInts("strides"),
                       pads = n_.attrs.getInts("pads");
  if (dil.empty())
    dil = {1, 1};
  if (st.empty())
    st = {1, 1};
  if (pads.empty())
    pads = {0, 0, 0, 0};
  if (in.size() != 4 || ws.size() != 4 || out.size() != 4 || group < 1 || og < 1 || in[1] % group ||
      ws[0] % group || in[1] % og || ws[1] != in[1] / group || dil.size() != 2 || st.size() != 2 ||
      pads.size() != 4)
    codegenError(g_, "node '" + n_.name + "' (DeformConv) is not a 2-D deformable convolution it can take");
  int64_t C = in[1], H = in[2], W = in[3], kH = ws[2], kW = ws[3], taps = kH * kW, cg = C / group,
          mg = ws[0] / group, cPerOg = C / og, oW = out[3], plane = out[2] * out[3];
  DType t = g_.values[size_t(r)].dtype, xt = g_.values[size_t(x)].dtype;
  std::string ct = computeType(t);
  auto num = [](int64_t v) { return std::to_string(v) + "LL"; };
  os_ << "    " << ct << " acc = " << (bias >= 0 ? operandElement(bias, c[1]) : "0") << ";\n"
      << "    const long long at = " << c[2] << " * " << num(oW) << " + " << c[3] << ";\n"
      << "    auto sample = [&](long long base, double h, double w) -> double {\n"
      << "      if (h <= -1 || h >= " << H << ".0 || w <= -1 || w >= " << W << ".0) return 0;\n"
      << "      const long long h0 = (long long)floor(h), w0 = (long long)floor(w);\n"
      << "      const double lh = h - (double)h0, lw = w - (double)w0;\n"
      << "      auto px = [&](long long y, long long q) -> double {\n"
      << "        return y >= 0 && y < " << num(H) << " && q >= 0 && q < " << num(W) << " ? (double)"
      << loadAs(xt, w_.paramName(x) + "[base + y * " + num(W) + " + q]") << " : 0.0;\n"
      << "      };\n"
      << "      return (1 - lh) * (1 - lw) * px(h0, w0) + (1 - lh) * lw * px(h0, w0 + 1) +\n"
      << "             lh * (1 - lw) * px(h0 + 1, w0) + lh * lw * px(h0 + 1, w0 + 1);\n"
      << "    };\n"
      << "    const long long g = " << c[1] << " / " << num(mg) << ";\n"
      << "    for (long long ci = 0; ci < " << num(cg) << "; ++ci) {\n"
      << "      const long long ch = g * " << num(cg) << " + ci, o = ch / " << num(cPerOg) << ";\n"
      << "      const long long base = (" << c[0] << " * " << num(C) << " + ch) * " << num(H * W) << ";\n"
      << "      for (long long k = 0; k < " << num(taps) << "; ++k) {\n"
      << "        const long long kh = k / " << num(kW) << ", kw = k % " << num(kW) << ";\n"
      << "        const long long tap = ((" << c[0] << " * " << num(og) << " + o) * " << num(2 * taps)
      << " + 2 * k) * " << num(plane) << " + at;\n"
      << "        const double h = (double)(" << c[2] << " * " << num(st[0]) << " - " << num(pads[0])
      << " + kh * " << num(dil[0]) << ") + (double)" << operandElement(off, "tap") << ";\n"
      << "        const double w = (double)(" << c[3] << " * " << num(st[1]) << " - " << num(pads[1])
      << " + kw * " << num(dil[1]) << ") + (double)" << operandElement(off, "tap + " + num(plane)) << ";\n"
      << "        " << ct << " v = (" << ct << ")sample(base, h, w);\n";
  if (mask >= 0)
    os_ << "        v *= " << operandElement(mask, "((" + c[0] + " * " + num(og) + " + o) * " + num(taps) +
                                                   " + k) * " + num(plane) + " + at")
        << ";\n";
  os_ << "        acc += v * " << operandElement(wt, "((" + c[1] + " * " + num(cg) + " + ci) * " + num(kH) +
                                                   " + kh) * " + num(kW) + " + kw")
      << ";\n"
      << "      }\n"
      << "    }\n"
      << "    " << w_.paramName(r) << "[e] = " << storeAs(t, "acc") << ";\n";
}

} // namespace plumb::cuda
