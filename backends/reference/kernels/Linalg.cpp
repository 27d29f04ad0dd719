// Reference kernels for linear algebra: MatMul (numpy semantics), Gemm and Einsum.
#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <type_traits>
#include <vector>

namespace plumb::ref {
namespace {

// Floats accumulate in their own type (the precision rule: an F32 run computes in f32);
// integers accumulate in uint64_t, whose wrap-around gives two's-complement results
// without signed-overflow UB once truncated back to T.
template <typename T> using AccT = std::conditional_t<std::is_floating_point_v<T>, T, uint64_t>;

// ---------------------------------------------------------------------------------------
// MatMul

// One (M x K) * (K x N) product into `c`, accumulating in AccT. Each c[i][j] is the sum over
// k in ascending order, as in the textbook triple loop; the loops run i-k-j over a row of
// accumulators so that B is read along its rows (the same sums, 10-20x faster on big shapes).
template <typename T> void matmul2d(const T *a, const T *b, T *c, int64_t M, int64_t K, int64_t N) {
  std::vector<AccT<T>> acc(static_cast<size_t>(N));
  for (int64_t i = 0; i < M; ++i) {
    std::fill(acc.begin(), acc.end(), AccT<T>(0));
    for (int64_t k = 0; k < K; ++k) {
      AccT<T> aik = AccT<T>(a[i * K + k]);
      const T *brow = b + k * N;
      for (int64_t j = 0; j < N; ++j)
        acc[size_t(j)] += aik * AccT<T>(brow[j]);
    }
    for (int64_t j = 0; j < N; ++j)
      c[i * N + j] = T(acc[size_t(j)]);
  }
}

Tensor matmulKernel(const KernelCall &call) {
  const Tensor &A = call.in(0);
  const Tensor &B = call.in(1);
  if (A.rank() == 0 || B.rank() == 0)
    call.fail("operands must have rank >= 1, got " + A.describe() + " and " + B.describe());
  if (A.dtype() != B.dtype())
    call.fail("operand types differ: " + A.describe() + " and " + B.describe());
  // numpy: a 1-D A is a row vector, a 1-D B a column vector; the added dim is dropped.
  Shape as = A.shape(), bs = B.shape();
  bool aVec = as.size() == 1, bVec = bs.size() == 1;
  if (aVec)
    as.insert(as.begin(), 1);
  if (bVec)
    bs.push_back(1);
  int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  if (bs[bs.size() - 2] != K)
    call.fail("inner dimensions differ: " + A.describe() + " and " + B.describe());
  Shape aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
  Shape batch = broadcastShapes(call, aBatch, bBatch);
  std::vector<int64_t> aStr = broadcastStrides(aBatch, batch);
  std::vector<int64_t> bStr = broadcastStrides(bBatch, batch);
  Shape outShape = batch;
  if (!aVec)
    outShape.push_back(M);
  if (!bVec)
    outShape.push_back(N);
  Tensor out = Tensor::zeros(A.dtype(), outShape);
  if (out.numel() == 0)
    return out;
  dispatchNumeric(call, A.dtype(), [&](auto tag) {
    using T = decltype(tag);
    std::vector<int64_t> idx(batch.size(), 0);
    int64_t n = 0;
    do {
      int64_t ao = 0, bo = 0;
      for (size_t d = 0; d < idx.size(); ++d)
        ao += idx[d] * aStr[d], bo += idx[d] * bStr[d];
      matmul2d(A.data<T>() + ao * M * K, B.data<T>() + bo * K * N, out.mutableData<T>() + n * M * N,
               M, K, N);
      ++n;
    } while (nextIndex(idx, batch));
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Gemm

struct GemmDims {
  int64_t M, K, N;
  int64_t aRow, aCol; // strides of A'(i, k) = A[i * aRow + k * aCol]
  int64_t bRow, bCol; // strides of B'(k, j)
};

GemmDims gemmDims(const KernelCall &call, const Tensor &A, const Tensor &B) {
  if (A.rank() != 2 || B.rank() != 2)
    call.fail("A and B must be 2-D, got " + A.describe() + " and " + B.describe());
  bool tA = call.attr().getInt("transA", 0) != 0;
  bool tB = call.attr().getInt("transB", 0) != 0;
  GemmDims g;
  g.M = tA ? A.dim(1) : A.dim(0);
  g.K = tA ? A.dim(0) : A.dim(1);
  int64_t kB = tB ? B.dim(1) : B.dim(0);
  g.N = tB ? B.dim(0) : B.dim(1);
  if (kB != g.K)
    call.fail("inner dimensions differ: " + A.describe() + (tA ? " (transposed)" : "") + " and " +
              B.describe() + (tB ? " (transposed)" : ""));
  g.aRow = tA ? 1 : A.dim(1);
  g.aCol = tA ? A.dim(1) : 1;
  g.bRow = tB ? 1 : B.dim(1);
  g.bCol = tB ? B.dim(1) : 1;
  return g;
}

// Strides reading C as broadcast (unidirectionally) to M x N; fails when it cannot be.
std::vector<int64_t> gemmBiasStrides(const KernelCall &call, const Tensor &C, int64_t M,
                                     int64_t N) {
  Shape target{M, N};
  if (C.rank() > 2)
    call.fail("C " + C.describe() + " cannot broadcast to " + shapeToString(target));
  for (int64_t d = 0; d < C.rank(); ++d) {
    int64_t t = target[size_t(2 - C.rank() + d)];
    if (C.dim(d) != 1 && C.dim(d) != t)
      call.fail("C " + C.describe() + " cannot broadcast to " + shapeToString(target));
  }
  return broadcastStrides(C.shape(), target);
}

// Integer Gemm keeps alpha/beta integral so it can wrap exactly like integer MatMul.
uint64_t integralScale(const KernelCall &call, double v, const char *name) {
  if (v != std::floor(v) || std::fabs(v) > 9.0e18)
    call.fail(std::string("integer Gemm needs an integral ") + name);
  return uint64_t(int64_t(v));
}

Tensor gemmKernel(const KernelCall &call) {
  const Tensor &A = call.in(0);
  const Tensor &B = call.in(1);
  const Tensor *C = call.input(2);
  if (A.dtype() != B.dtype() || (C && C->dtype() != A.dtype()))
    call.fail("operand types differ");
  GemmDims g = gemmDims(call, A, B);
  std::vector<int64_t> cStr = C ? gemmBiasStrides(call, *C, g.M, g.N) : std::vector<int64_t>{};
  double alpha = call.attr().getFloat("alpha", 1.0);
  double beta = call.attr().getFloat("beta", 1.0);
  Tensor out = Tensor::zeros(A.dtype(), {g.M, g.N});
  dispatchNumeric(call, A.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using Acc = AccT<T>;
    Acc a, b;
    if constexpr (std::is_floating_point_v<T>) {
      a = Acc(alpha), b = Acc(beta);
    } else {
      a = integralScale(call, alpha, "alpha"), b = integralScale(call, beta, "beta");
    }
    const T *pa = A.data<T>(), *pb = B.data<T>();
    T *y = out.mutableData<T>();
    for (int64_t i = 0; i < g.M; ++i)
      for (int64_t j = 0; j < g.N; ++j) {
        Acc acc = 0;
        for (int64_t k = 0; k < g.K; ++k)
          acc += Acc(pa[i * g.aRow + k * g.aCol]) * Acc(pb[k * g.bRow + j * g.bCol]);
        acc = a * acc;
        if (C)
          acc += b * Acc(C->data<T>()[i * cStr[0] + j * cStr[1]]);
        y[i * g.N + j] = T(acc);
      }
  });
  return out;
}

// ---------------------------------------------------------------------------------------
// Einsum: every index letter (and every dimension under "...") becomes a label; the result
// is a plain loop over all label values, multiplying the operands and summing into the
// output position.

struct EinsumTerm {
  std::string letters; // the term with "..." replaced by '.'
  bool hasEllipsis = false;
};

EinsumTerm parseTerm(const KernelCall &call, const std::string &text) {
  EinsumTerm t;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (text.compare(i, 3, "...") != 0 || t.hasEllipsis)
        call.fail("malformed ellipsis in equation term '" + text + "'");
      t.hasEllipsis = true;
      t.letters += '.';
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      t.letters += c;
    } else {
      call.fail(std::string("unexpected character '") + c + "' in equation");
    }
  }
  return t;
}

struct EinsumPlan {
  std::vector<int64_t> sizes;                // per label
  std::vector<std::vector<int>> inputLabels; // per input, per dim
  std::vector<int> outputLabels;
};

// Splits the equation into input terms and the output term (`hasOutput` false when implicit).
std::vector<EinsumTerm> splitEquation(const KernelCall &call, EinsumTerm &output, bool &hasOutput) {
  std::string eq;
  for (char c : call.attr().getString("equation", ""))
    if (c != ' ')
      eq += c;
  size_t arrow = eq.find("->");
  hasOutput = arrow != std::string::npos;
  std::string lhs = hasOutput ? eq.substr(0, arrow) : eq;
  if (hasOutput)
    output = parseTerm(call, eq.substr(arrow + 2));
  std::vector<EinsumTerm> terms;
  size_t start = 0;
  while (true) {
    size_t comma = lhs.find(',', start);
    terms.push_back(parseTerm(call, lhs.substr(start, comma - start)));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  if (terms.size() != call.numInputs())
    call.fail("equation has " + std::to_string(terms.size()) + " operands, node has " +
              std::to_string(call.numInputs()) + " inputs");
  return terms;
}

// Label ids: 0..E-1 for the broadcast ellipsis dims, then E + (letter order in ASCII).
int letterLabel(char c, int ellipsisRank) {
  int code = std::isupper(static_cast<unsigned char>(c)) ? c - 'A' : 26 + (c - 'a');
  return ellipsisRank + code;
}

// Labels of one term's dims; `ellipsisDims` of them stand for "..." (right-aligned
// against the broadcast ellipsis of rank E).
std::vector<int> termLabels(const EinsumTerm &t, int64_t ellipsisDims, int E) {
  std::vector<int> labels;
  for (char c : t.letters) {
    if (c == '.') {
      for (int64_t e = 0; e < ellipsisDims; ++e)
        labels.push_back(int(E - ellipsisDims + e));
    } else {
      labels.push_back(letterLabel(c, E));
    }
  }
  return labels;
}

// Implicit output: the ellipsis dims, then letters used exactly once, in ASCII order.
std::vector<int> implicitOutput(const std::vector<EinsumTerm> &terms, int E) {
  std::vector<int> out;
  for (int e = 0; e < E; ++e)
    out.push_back(e);
  int counts[52] = {0};
  for (const EinsumTerm &t : terms)
    for (char c : t.letters)
      if (c != '.')
        ++counts[letterLabel(c, 0)];
  for (int l = 0; l < 52; ++l)
    if (counts[l] == 1)
      out.push_back(E + l);
  return out;
}

void sizeLabels(const KernelCall &call, EinsumPlan &p) {
  for (size_t i = 0; i < p.inputLabels.size(); ++i) {
    const Shape &shape = call.in(i).shape();
    for (size_t d = 0; d < shape.size(); ++d) {
      int64_t &size = p.sizes[size_t(p.inputLabels[i][d])];
      // Size-1 dims broadcast against any size, as in numpy.einsum.
      if (size == -1 || size == 1)
        size = shape[d];
      else if (shape[d] != 1 && shape[d] != size)
        call.fail("operand " + std::to_string(i) + " " + call.in(i).describe() + ": dimension " +
                  std::to_string(d) + " conflicts with size " + std::to_string(size) +
                  " of the same label");
    }
  }
}

// Renumbers the labels that occur so the summation loop skips the unused letters.
void compactLabels(EinsumPlan &p) {
  std::vector<int> newId(p.sizes.size(), -1);
  std::vector<int64_t> sizes;
  for (size_t l = 0; l < p.sizes.size(); ++l)
    if (p.sizes[l] != -1) {
      newId[l] = int(sizes.size());
      sizes.push_back(p.sizes[l]);
    }
  p.sizes = sizes;
  for (auto &labels : p.inputLabels)
    for (int &l : labels)
      l = newId[size_t(l)];
  for (int &l : p.outputLabels)
    l = newId[size_t(l)];
}

EinsumPlan planEinsum(const KernelCall &call) {
  EinsumTerm output;
  bool hasOutput = false;
  std::vector<EinsumTerm> terms = splitEquation(call, output, hasOutput);
  std::vector<int64_t> ellipsisDims(terms.size(), 0);
  int E = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    int64_t named = int64_t(terms[i].letters.size()) - (terms[i].hasEllipsis ? 1 : 0);
    int64_t rank = call.in(i).rank();
    if (terms[i].hasEllipsis ? rank < named : rank != named)
      call.fail("term '" + terms[i].letters + "' does not match operand " + std::to_string(i) +
                " " + call.in(i).describe());
    ellipsisDims[i] = rank - named;
    E = std::max(E, int(ellipsisDims[i]));
  }
  EinsumPlan p;
  p.sizes.assign(size_t(E + 52), -1);
  for (size_t i = 0; i < terms.size(); ++i)
    p.inputLabels.push_back(termLabels(terms[i], ellipsisDims[i], E));
  if (hasOutput) {
    if (E > 0 && !output.hasEllipsis)
      call.fail("output term must contain '...' when the operands do");
    p.outputLabels = termLabels(output, E, E);
  } else {
    p.outputLabels = implicitOutput(terms, E);
  }
  sizeLabels(call, p);
  std::vector<bool> seen(p.sizes.size(), false);
  for (int l : p.outputLabels) {
    if (p.sizes[size_t(l)] == -1 || seen[size_t(l)])
      call.fail("output label repeated or not found in the operands");
    seen[size_t(l)] = true;
  }
  compactLabels(p);
  return p;
}

// Per-label element strides of a tensor whose dims carry `labels` (summed for repeated
// labels, which makes them walk a diagonal; 0 for broadcast size-1 dims).
std::vector<int64_t> labelStrides(const Shape &shape, const std::vector<int> &labels,
                                  size_t numLabels) {
  std::vector<int64_t> s(numLabels, 0);
  std::vector<int64_t> dimStrides = stridesOf(shape);
  for (size_t d = 0; d < labels.size(); ++d)
    if (shape[d] != 1)
      s[size_t(labels[d])] += dimStrides[d];
  return s;
}

Tensor einsumKernel(const KernelCall &call) {
  EinsumPlan p = planEinsum(call);
  DType dt = call.in(0).dtype();
  for (size_t i = 0; i < call.numInputs(); ++i)
    if (call.in(i).dtype() != dt)
      call.fail("operand types differ");
  const Shape &loop = p.sizes;
  Shape outShape;
  for (int l : p.outputLabels)
    outShape.push_back(loop[size_t(l)]);
  std::vector<std::vector<int64_t>> inStr;
  for (size_t i = 0; i < call.numInputs(); ++i)
    inStr.push_back(labelStrides(call.in(i).shape(), p.inputLabels[i], loop.size()));
  std::vector<int64_t> outStr = labelStrides(outShape, p.outputLabels, loop.size());
  Tensor out = Tensor::zeros(dt, outShape);
  if (numElements(loop) == 0)
    return out;
  dispatchNumeric(call, dt, [&](auto tag) {
    using T = decltype(tag);
    std::vector<AccT<T>> acc(size_t(out.numel()), AccT<T>(0));
    std::vector<const T *> data;
    for (size_t i = 0; i < inStr.size(); ++i)
      data.push_back(call.in(i).template data<T>());
    // Row-major odometer over every label with the operand and output offsets kept up to
    // date incrementally (the visiting order, and so every sum's order, is the plain loop's).
    std::vector<int64_t> idx(loop.size(), 0), off(inStr.size(), 0);
    int64_t o = 0;
    for (;;) {
      AccT<T> prod = 1;
      for (size_t i = 0; i < data.size(); ++i)
        prod *= AccT<T>(data[i][off[i]]);
      acc[size_t(o)] += prod;
      size_t l = loop.size();
      for (; l > 0; --l) {
        size_t d = l - 1;
        ++idx[d];
        o += outStr[d];
        for (size_t i = 0; i < off.size(); ++i)
          off[i] += inStr[i][d];
        if (idx[d] < loop[d])
          break;
        o -= outStr[d] * loop[d];
        for (size_t i = 0; i < off.size(); ++i)
          off[i] -= inStr[i][d] * loop[d];
        idx[d] = 0;
      }
      if (l == 0)
        break;
    }
    T *y = out.mutableData<T>();
    for (size_t i = 0; i < acc.size(); ++i)
      y[i] = T(acc[i]);
  });
  return out;
}

} // namespace

void registerLinalgKernels(KernelRegistry &r) {
  r.add("MatMul", singleOutput(matmulKernel));
  r.add("Gemm", singleOutput(gemmKernel));
  r.add("Einsum", singleOutput(einsumKernel));
}

} // namespace plumb::ref
