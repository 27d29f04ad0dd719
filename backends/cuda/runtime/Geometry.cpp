// matmulGeometry: batch folding and strides for cuBLASLt (no CUDA needed, unit-tested).
#include "backends/cuda/runtime/CudaBackend.h"

#include "runtime/Error.h"

namespace plumb::cuda {

MatMulGeometry matmulGeometry(const Shape &a, const Shape &b, bool transA, bool transB) {
  if (a.empty() || b.empty())
    throw Error("cuda.matmul: 0-d operands");
  Shape A = a.size() == 1 ? Shape{1, a[0]} : a;
  Shape B = b.size() == 1 ? Shape{b[0], 1} : b;
  int64_t m = transA ? A[A.size() - 1] : A[A.size() - 2];
  int64_t ka = transA ? A[A.size() - 2] : A[A.size() - 1];
  int64_t kb = transB ? B[B.size() - 1] : B[B.size() - 2];
  int64_t n = transB ? B[B.size() - 2] : B[B.size() - 1];
  if (ka != kb)
    throw Error("cuda.matmul: inner dims " + std::to_string(ka) + " and " + std::to_string(kb) +
                " differ");
  Shape ba(A.begin(), A.end() - 2), bb(B.begin(), B.end() - 2);
  int64_t na = numElements(ba), nb = numElements(bb);
  MatMulGeometry g;
  g.m = m;
  g.n = n;
  g.k = ka;
  if (nb == 1 && !transA) {
    // B is shared by every batch item of a row-major A: fold the batch into the rows.
    g.m = m * na;
    return g;
  }
  // Right-align the batch dims; each side is either the full batch or a single item.
  size_t r = std::max(ba.size(), bb.size());
  ba.insert(ba.begin(), r - ba.size(), 1);
  bb.insert(bb.begin(), r - bb.size(), 1);
  if (na != 1 && nb != 1 && ba != bb)
    throw Error("cuda.matmul: batch dims " + shapeToString(ba) + " and " + shapeToString(bb) +
                " broadcast partially; one strided cuBLASLt call cannot express that");
  g.batch = std::max(na, nb);
  g.strideA = na == 1 ? 0 : m * ka;
  g.strideB = nb == 1 ? 0 : ka * n;
  g.strideC = m * n;
  return g;
}

} // namespace plumb::cuda
