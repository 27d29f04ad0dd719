// Scatter kernels (MovementWriter, see MovementWriter.h): ScatterElements (and Scatter before
// opset 11) and ScatterND, each written as one thread per output element that applies, in the
// reference's order, the updates naming it, so duplicate indices give the reference's result.
#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/MovementWriter.h"

namespace plumb::cuda {

// A scatter's new value of `v` (the output element so far, compute type of `t`) given the
// update `u`, per the node's reduction as the reference computes it: integer add/mul wrap,
// max/min as std::max/min (a NaN already in v stays, a NaN update is dropped).
std::string MovementWriter::scatterCombine(DType t, const std::string &u) const {
  std::string red = n_.attrs.getString("reduction", "none");
  if (red != "none" && red != "add" && red != "mul" && red != "max" && red != "min")
    codegenError(g_, "node '" + n_.name + "' (" + n_.op + ") has reduction '" + red + "'");
  if (red != "none" && t == DType::Bool)
    codegenError(g_, "node '" + n_.name + "' (" + n_.op + ") reduces bools");
  if (red == "add" || red == "mul") {
    std::string op = red == "add" ? " + " : " * ";
    return computeType(t) == "long long"
               ? "(long long)((unsigned long long)v" + op + "(unsigned long long)(" + u + "))"
               : "v" + op + u;
  }
  if (red == "max")
    return "v < (" + u + ") ? (" + u + ") : v";
  if (red == "min")
    return "(" + u + ") < v ? (" + u + ") : v";
  return u;
}

// ScatterElements (and Scatter before opset 11): one thread per output element starts from
// the data element and applies, in the reference's order, the updates on its line along the
// axis (same coordinates off the axis) whose index names its coordinate: outputs × the
// indices' axis length checks. An index outside [-dim, dim) writes nothing and fails the run
// (checksIndices).
void MovementWriter::scatterElements(const std::vector<std::string> &c) {
  int r = n_.results.at(0), data = n_.operands.at(0), ind = n_.operands.at(1),
      upd = n_.operands.at(2);
  const Shape &ds = shapeOf(data), &is = shapeOf(ind);
  int64_t rank = int64_t(ds.size()), axis = normalizeAxis(g_, n_, n_.attrs.getInt("axis", 0), rank);
  if (int64_t(is.size()) != rank || shapeOf(upd) != is)
    codegenError(g_, "node '" + n_.name + "' (" + n_.op + ") has indices " + shapeToString(is) +
                         " and updates " + shapeToString(shapeOf(upd)) + " for data " +
                         shapeToString(ds));
  DType t = g_.values[size_t(r)].dtype;
  std::vector<std::string> at = c;
  at[size_t(axis)] = "j";
  std::string onLine = "true";
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && is[size_t(d)] < ds[size_t(d)])
      onLine += " && " + c[size_t(d)] + " < " + std::to_string(is[size_t(d)]) + "LL";
  std::string dim = std::to_string(ds[size_t(axis)]) + "LL";
  os_ << "    " << computeType(t) << " v = " << operandElement(data, "e") << ";\n"
      << "    if (" << onLine << ")\n"
      << "      for (long long j = 0; j < " << is[size_t(axis)] << "LL; ++j) {\n"
      << "        const long long u = " << offsetOf(is, at) << ";\n"
      << "        long long i = " << operandElement(ind, "u") << ";\n"
      << "        i = i < 0 ? i + " << dim << " : i;\n"
      << "        if (i < 0 || i >= " << dim << ") atomicCAS(plumb_status, 0, plumb_step);\n"
      << "        if (i == " << c[size_t(axis)] << ") v = "
      << loadAs(t, storeAs(t, scatterCombine(t, operandElement(upd, "u")))) << ";\n"
      << "      }\n"
      << "    " << w_.paramName(r) << "[e] = " << storeAs(t, "v") << ";\n";
}

// ScatterND: one thread per output element starts from the data element and applies, in
// the reference's order, every update whose index tuple names its slice (reduction none:
// the last one wins; add/mul/max/min: each combined in turn, rounded to the storage type
// at each step as the reference's arithmetic in that type is). Deterministic with
// duplicate indices, unlike a scatter of threads per update; the price is every thread
// reading every tuple: outputs × tuples index checks, cheap for the usual few tuples (a
// KV-cache write) and slow for large scatters. An index outside [-dim, dim) (an error in
// ONNX) makes its tuple write nothing and fails the run (checksIndices).
void MovementWriter::scatterND() {
  int r = n_.results.at(0), data = n_.operands.at(0), ind = n_.operands.at(1),
      upd = n_.operands.at(2);
  const Shape &ds = shapeOf(data), &is = shapeOf(ind);
  if (is.empty() || is.back() < 1 || is.back() > int64_t(ds.size()))
    codegenError(g_, "node '" + n_.name + "' (ScatterND) has indices " + shapeToString(is) +
                         " for data of rank " + std::to_string(ds.size()));
  int64_t k = is.back(), tuples = numElements(is) / k, slice = 1;
  for (size_t d = size_t(k); d < ds.size(); ++d)
    slice *= ds[d];
  DType t = g_.values[size_t(r)].dtype;
  int64_t n = numElements(ds);
  largest_ = std::max(largest_, n);
  std::string ct = computeType(t),
              combined = scatterCombine(t, operandElement(upd, "t * " + std::to_string(slice) + "LL + j"));
  os_ << "  for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < " << n
      << "LL; e += (long long)gridDim.x * blockDim.x) {\n"
      << "    const long long p = e / " << slice << "LL, j = e % " << slice << "LL;\n"
      << "    " << ct << " v = " << operandElement(data, "e") << ";\n"
      << "    for (long long t = 0; t < " << tuples << "LL; ++t) {\n"
      << "      long long at = 0;\n"
      << "      bool inside = true;\n";
  int64_t stride = 1; // of the indexed dims, in slices
  std::vector<int64_t> strides(static_cast<size_t>(k));
  for (int64_t d = k; d-- > 0;) {
    strides[size_t(d)] = stride;
    stride *= ds[size_t(d)];
  }
  for (int64_t d = 0; d < k; ++d) {
    std::string dim = std::to_string(ds[size_t(d)]) + "LL";
    os_ << "      {\n"
        << "        long long i = " << operandElement(ind, "t * " + std::to_string(k) + "LL + " + std::to_string(d)) << ";\n"
        << "        i = i < 0 ? i + " << dim << " : i;\n"
        << "        inside = inside && i >= 0 && i < " << dim << ";\n"
        << "        at += i * " << strides[size_t(d)] << "LL;\n"
        << "      }\n";
  }
  // Each step stored and reloaded: the reference rounds to the storage type per update.
  os_ << "      if (!inside) atomicCAS(plumb_status, 0, plumb_step);\n";
  os_ << "      if (inside && at == p) v = " << loadAs(t, storeAs(t, combined)) << ";\n"
      << "    }\n"
      << "    " << w_.paramName(r) << "[e] = " << storeAs(t, "v") << ";\n"
      << "  }\n";
}

} // namespace plumb::cuda
