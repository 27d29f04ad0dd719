// The attention kernel: MatMul(Q, K^T) -> score ops -> Softmax(last axis) -> MatMul(P, V),
// flash-attention style. One warp per query row, ROWS rows per block; the block walks the
// keys in tiles held in shared memory (as f32), and each warp keeps an online softmax (running
// max and sum) and its output row in registers, so the scores never reach memory. Within a
// tile the lanes take 32 keys at a time, one each. The ops
// between the first MatMul and the Softmax (scale, mask Add, Where...) are generated from the
// body with the score bound to `s`, and may read mask tensors broadcast over [batch.., S, T].
#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/Generator.h"
#include "backends/cuda/codegen/Writer.h"
#include "backends/reference/kernels/Common.h"

#include <algorithm>
#include <optional>
#include <set>
#include <sstream>

namespace plumb::cuda {
namespace {

struct AttentionParts {
  const KNode *qk = nullptr, *softmax = nullptr, *pv = nullptr, *transpose = nullptr;
  std::vector<const KNode *> scoreOps; // between qk and softmax, in order
  int q = -1, k = -1, v = -1;
  bool kTransposed = false; // K is given as [.., T, D] (a Transpose in the body makes K^T)
};

const KNode *producer(const KernelGraph &g, int value) {
  for (const KNode &n : g.nodes)
    for (int r : n.results)
      if (r == value)
        return &n;
  return nullptr;
}

bool isInput(const KernelGraph &g, int value) {
  return std::find(g.inputs.begin(), g.inputs.end(), value) != g.inputs.end();
}

AttentionParts split(const KernelGraph &g) {
  AttentionParts p;
  for (const KNode &n : g.nodes)
    if (n.op == "Softmax")
      p.softmax = &n;
  if (!p.softmax)
    codegenError(g, "an attention body without a Softmax");
  for (const KNode &n : g.nodes)
    if (n.op == "MatMul" && n.operands[0] == p.softmax->results[0])
      p.pv = &n;
  if (!p.pv || g.outputs.size() != 1 || g.outputs[0] != p.pv->results[0])
    codegenError(g, "the attention body's only output must be MatMul(Softmax(..), V)");
  // Walk back from the Softmax input through single-input-chain ops to the first MatMul.
  std::set<const KNode *> chain;
  std::vector<int> work{p.softmax->operands[0]};
  while (!work.empty()) {
    int v = work.back();
    work.pop_back();
    const KNode *n = producer(g, v);
    if (!n || chain.count(n))
      continue;
    if (n->op == "MatMul") {
      if (p.qk && p.qk != n)
        codegenError(g, "the scores depend on two MatMuls");
      p.qk = n;
      continue;
    }
    if (!isSupportedElementwise(n->op))
      codegenError(g, "node '" + n->name + "' (" + n->op +
                          ") between the scores and the Softmax has no generator rule");
    chain.insert(n);
    for (int o : n->operands)
      work.push_back(o);
  }
  if (!p.qk)
    codegenError(g, "no MatMul(Q, K^T) feeds the Softmax");
  for (const KNode &n : g.nodes)
    if (chain.count(&n))
      p.scoreOps.push_back(&n);
  p.q = p.qk->operands[0];
  p.k = p.qk->operands[1];
  if (const KNode *t = producer(g, p.k)) {
    if (t->op != "Transpose")
      codegenError(g, "K^T is computed by '" + t->name + "' (" + t->op + "), not a Transpose");
    std::vector<int64_t> perm = t->attrs.getInts("perm");
    size_t r = g.values[size_t(t->operands[0])].shape.size();
    bool swapsLastTwo = perm.size() == r && r >= 2 && perm[r - 2] == int64_t(r - 1) &&
                        perm[r - 1] == int64_t(r - 2);
    for (size_t k = 0; swapsLastTwo && k + 2 < r; ++k)
      swapsLastTwo = perm[k] == int64_t(k);
    if (!swapsLastTwo && !(perm.empty() && r == 2))
      codegenError(g, "Transpose '" + t->name + "' does more than swap the last two axes");
    p.transpose = t;
    p.k = t->operands[0];
    p.kTransposed = true;
  }
  p.v = p.pv->operands[1];
  for (int x : {p.q, p.k, p.v})
    if (!isInput(g, x))
      codegenError(g, "Q, K and V must be inputs of the attention body");
  size_t expected = 3 + p.scoreOps.size() + (p.transpose ? 1 : 0);
  if (g.nodes.size() != expected)
    codegenError(g, "the attention body holds ops beyond scores, mask, Softmax and MatMuls");
  return p;
}

// The element strides of value `v` as it lies in memory: a strided view's, else row-major.
std::vector<int64_t> memoryStrides(const KernelGraph &g, int v) {
  auto it = g.strides.find(v);
  const Shape &s = g.values[size_t(v)].shape;
  if (it == g.strides.end())
    return ref::stridesOf(s);
  if (it->second.size() != s.size())
    codegenError(g, "a strided view of rank " + std::to_string(it->second.size()) +
                        " for a value of shape " + shapeToString(s));
  return it->second;
}

// Where value `v`'s batch item starts: its view's offset, then its batch dims (all but the
// last two) right-aligned into `batch`, at strides `st`.
std::string batchOffset(const KernelGraph &g, int v, const std::vector<int64_t> &st,
                        const Shape &batch) {
  const Shape &s = g.values[size_t(v)].shape;
  auto off = g.offsets.find(v);
  auto div = g.divisors.find(v);
  std::string expr = off != g.offsets.end() && off->second != 0 ? std::to_string(off->second) + "LL" : "";
  size_t rank = s.size() - 2;
  for (size_t k = rank; k-- > 0;) {
    size_t bk = batch.size() - rank + k;
    int64_t d = div != g.divisors.end() ? div->second.at(k) : 1;
    std::string index = "b" + std::to_string(bk);
    if (d != 1) // a repeated head: d consecutive indices read one
      index = "(" + index + " / " + std::to_string(d) + "LL)";
    if (s[k] != 1)
      expr += (expr.empty() ? "" : " + ") + index + " * " + std::to_string(st[k]) + "LL";
  }
  return expr.empty() ? "0" : expr;
}


// Where both attention kernels read and write: Q [.., S, D], K [.., D, T] (or [.., T, D] under
// the body's Transpose), V [.., T, DV] and the output [.., S, DV], each at its strides
// (contiguous, or a view through a transpose), in the batch item of blockIdx.y.
struct AttentionIo {
  const KernelGraph &g;
  const AttentionParts &p;
  const Shape &batch;
  std::vector<int64_t> sq, sk, sv, so;
  AttentionIo(const KernelGraph &g, const AttentionParts &p, const Shape &batch)
      : g(g), p(p), batch(batch), sq(memoryStrides(g, p.q)), sk(memoryStrides(g, p.k)),
        sv(memoryStrides(g, p.v)), so(memoryStrides(g, g.outputs[0])) {}
  static std::string at(const std::vector<int64_t> &st, size_t fromEnd) {
    return std::to_string(st[st.size() - fromEnd]) + "LL";
  }
  // bflat (blockIdx.y), its batch indices b0.., and where Q, K and V start in it.
  void emitOffsets(std::ostream &o) const {
    o << "  const long long bflat = blockIdx.y;\n";
    int64_t stride = 1;
    for (size_t k = batch.size(); k-- > 0;) {
      o << "  const long long b" << k << " = (bflat / " << stride << "LL) % " << batch[k] << "LL;\n";
      stride *= batch[k];
    }
    o << "  const long long qoff = " << batchOffset(g, p.q, sq, batch) << ";\n"
      << "  const long long koff = " << batchOffset(g, p.k, sk, batch) << ";\n"
      << "  const long long voff = " << batchOffset(g, p.v, sv, batch) << ";\n";
  }
  // Element indices: Q at row `i`, dim d; K and V at key t, dim d; the output at row `i`
  // (then + outDim()).
  std::string q(const std::string &i) const {
    return "qoff + " + i + " * " + at(sq, 2) + " + d * " + at(sq, 1);
  }
  std::string k() const {
    return p.kTransposed ? "koff + t * " + at(sk, 2) + " + d * " + at(sk, 1)
                         : "koff + (long long)d * " + at(sk, 2) + " + t * " + at(sk, 1);
  }
  std::string v() const { return "voff + t * " + at(sv, 2) + " + d * " + at(sv, 1); }
  std::string outRow(const std::string &i) const {
    return batchOffset(g, g.outputs[0], so, batch) + " + " + i + " * " + at(so, 2);
  }
  std::string outDim() const { return "d * " + at(so, 1); }
};

// The block's threads storing keys t0 .. t0 + rows - 1 of K or V (`cols` dims) into a shared
// tile: `dest` (in tt and d) gets `src` (in t and d) for keys before T, `fill` after.
void emitTileLoad(std::ostream &o, int64_t rows, int64_t cols, int64_t T, const std::string &dest,
                  const std::string &src, const std::string &fill) {
  o << "    for (int x = threadIdx.x; x < " << rows * cols << "; x += blockDim.x) {\n"
    << "      const int tt = x / " << cols << ", d = x % " << cols << ";\n"
    << "      const long long t = t0 + tt;\n"
    << "      " << dest << " = t < " << T << "LL ? " << src << " : " << fill << ";\n"
    << "    }\n";
}

// The body's ops between the scores and the Softmax on the score `s` of row i and key t (a
// mask read at element se of [batch.., S, T]), the result assigned to `target`.
void emitScoreOps(std::ostream &o, ElementWriter &w, const AttentionParts &p, int64_t S,
                  int64_t T, const std::string &indent, const std::string &target) {
  o << indent << "const long long se = (bflat * " << S << "LL + i) * " << T << "LL + t;\n"
    << indent << "(void)se;\n";
  int scoreValue = p.softmax->operands[0];
  w.emit(o, {scoreValue}, indent);
  o << indent << target << " = (float)" << w.name(scoreValue) << ";\n";
}

// The tensor-core kernel, for Q, K and V stored in one half type (f16 or bf16) with head dims
// multiples of 16 and at least 16 query rows: WARPS warps of 16 query rows each per block,
// keys in tiles of 32 in shared memory. Per tile, each warp computes its 16 x 32 scores with
// wmma (m16n16k16, f32 accumulation) from Q fragments held in registers, applies the score
// ops and the online softmax in shared memory (two lanes a row), and adds P V to its output
// rows, kept in f32 in shared memory and rescaled there, with wmma again. Nothing else of the
// FMA kernel changes: the score ops, views and masks are the same code.
std::optional<GeneratedKernel> tensorCoreAttention(const KernelGraph &g, const AttentionParts &p,
                                                   const Shape &batch, const Shape &scores,
                                                   int64_t S, int64_t T, int64_t D, int64_t DV) {
  DType qt = g.values[size_t(p.q)].dtype, kt = g.values[size_t(p.k)].dtype,
        vt = g.values[size_t(p.v)].dtype, ot = g.values[size_t(g.outputs[0])].dtype;
  if (qt != kt || qt != vt || (qt != DType::F16 && qt != DType::BF16) || D % 16 != 0 ||
      DV % 16 != 0 || S < 16)
    return std::nullopt;
  const int64_t KT = 32;
  // Shared memory: the Q rows (used once, to load the fragments) share their bytes with the
  // output rows; then the K and V tiles, each warp's scores (f32) and probabilities (half).
  // Leading dims padded (half +8, f32 +4) keep every fragment pointer 32-byte aligned.
  auto bytes = [&](int64_t warps) {
    int64_t q = warps * 16 * (D + 8) * 2, o = warps * 16 * (DV + 4) * 4;
    return std::max(q, o) + KT * (D + 8) * 2 + KT * (DV + 8) * 2 + warps * 16 * (KT + 4) * 4 +
           warps * 16 * (KT + 8) * 2;
  };
  int64_t warps = 4;
  while (warps > 1 && bytes(warps) > 48 * 1024)
    warps /= 2;
  if (bytes(warps) > 48 * 1024)
    return std::nullopt;
  int64_t rows = 16 * warps;
  std::string ht = qt == DType::F16 ? "__half" : "__nv_bfloat16";
  std::string toHalf = qt == DType::F16 ? "__float2half_rn" : "__float2bfloat16_rn";
  int64_t ldq = D + 8, ldk = D + 8, ldv = DV + 8, lds = KT + 4, ldp = KT + 8, ldo = DV + 4;
  int64_t regionA = std::max(warps * 16 * ldq * 2, warps * 16 * ldo * 4);
  int64_t offK = regionA, offV = offK + KT * ldk * 2, offS = offV + KT * ldv * 2,
          offP = offS + warps * 16 * lds * 4, total = offP + warps * 16 * ldp * 2;

  ElementWriter w(g, scores, "se");
  auto param = [&](int value) { return w.paramName(value); };
  w.bind(p.qk->results[0], "s");
  AttentionIo io(g, p, batch);
  const std::string ninf = "__int_as_float(0xff800000)";
  std::ostringstream o;
  o << includes(g) << "#include <mma.h>\n"
    << "using namespace nvcuda;\n"
    << "extern \"C\" __global__ void __launch_bounds__(" << 32 * warps << ") plumb_kernel("
    << paramList(g) << ") {\n"
    << "  __shared__ __align__(128) unsigned char smem[" << total << "];\n"
    << "  " << ht << " *qs = (" << ht << " *)smem;\n"
    << "  float *os = (float *)smem;\n"
    << "  " << ht << " *ks = (" << ht << " *)(smem + " << offK << ");\n"
    << "  " << ht << " *vs = (" << ht << " *)(smem + " << offV << ");\n"
    << "  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;\n"
    << "  float *sc = (float *)(smem + " << offS << ") + warp * " << 16 * lds << ";\n"
    << "  " << ht << " *ps = (" << ht << " *)(smem + " << offP << ") + warp * " << 16 * ldp << ";\n"
    << "  float *ow = os + warp * " << 16 * ldo << ";\n"
    << "  const long long row0 = (long long)blockIdx.x * " << rows << ";\n";
  io.emitOffsets(o);
  o << "  const " << ht << " zero = " << toHalf << "(0.f);\n"
    << "  for (int x = threadIdx.x; x < " << rows * D << "; x += blockDim.x) {\n"
    << "    const int r = x / " << D << ", d = x % " << D << ";\n"
    << "    const long long i = row0 + r;\n"
    << "    qs[r * " << ldq << " + d] = i < " << S << "LL ? " << param(p.q) << "[" << io.q("i")
    << "] : zero;\n"
    << "  }\n"
    << "  __syncthreads();\n"
    << "  wmma::fragment<wmma::matrix_a, 16, 16, 16, " << ht << ", wmma::row_major> aq[" << D / 16 << "];\n"
    << "  for (int kb = 0; kb < " << D / 16 << "; ++kb)\n"
    << "    wmma::load_matrix_sync(aq[kb], qs + warp * " << 16 * ldq << " + kb * 16, " << ldq << ");\n"
    << "  __syncthreads();\n"
    << "  for (int x = lane; x < " << 16 * ldo << "; x += 32) ow[x] = 0.f;\n"
    << "  // Two lanes a row: row r, columns h * 16 .. h * 16 + 15 of the scores.\n"
    << "  const int r = lane >> 1, h = lane & 1;\n"
    << "  const long long i = row0 + warp * 16 + r;\n"
    << "  float m = " << ninf << ", l = 0.f;\n"
    << "  for (long long t0 = 0; t0 < " << T << "LL; t0 += " << KT << ") {\n"
    << "    __syncthreads();\n";
  emitTileLoad(o, KT, D, T, "ks[tt * " + std::to_string(ldk) + " + d]", param(p.k) + "[" + io.k() + "]", "zero");
  emitTileLoad(o, KT, DV, T, "vs[tt * " + std::to_string(ldv) + " + d]", param(p.v) + "[" + io.v() + "]", "zero");
  o << "    __syncthreads();\n"
    << "    for (int nb = 0; nb < " << KT / 16 << "; ++nb) {\n"
    << "      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;\n"
    << "      wmma::fill_fragment(acc, 0.f);\n"
    << "      for (int kb = 0; kb < " << D / 16 << "; ++kb) {\n"
    << "        wmma::fragment<wmma::matrix_b, 16, 16, 16, " << ht << ", wmma::col_major> bk;\n"
    << "        wmma::load_matrix_sync(bk, ks + nb * " << 16 * ldk << " + kb * 16, " << ldk << ");\n"
    << "        wmma::mma_sync(acc, aq[kb], bk, acc);\n"
    << "      }\n"
    << "      wmma::store_matrix_sync(sc + nb * 16, acc, " << lds << ", wmma::mem_row_major);\n"
    << "    }\n"
    << "    __syncwarp();\n"
    << "    float cm = " << ninf << ";\n"
    << "    for (int c = h * 16; c < h * 16 + 16; ++c) {\n"
    << "      const long long t = t0 + c;\n"
    << "      float v = " << ninf << ";\n"
    << "      if (t < " << T << "LL && i < " << S << "LL) {\n"
    << "        const float s = sc[r * " << lds << " + c];\n";
  emitScoreOps(o, w, p, S, T, "        ", "v");
  o << "      }\n"
    << "      sc[r * " << lds << " + c] = v;\n"
    << "      cm = v > cm ? v : cm;\n"
    << "    }\n"
    << "    const float other = __shfl_xor_sync(0xffffffffu, cm, 1);\n"
    << "    cm = other > cm ? other : cm;\n"
    << "    const float mn = cm > m ? cm : m;\n"
    << "    const float alpha = m == " << ninf << " ? 0.f : expf(m - mn);\n"
    << "    l *= alpha;\n"
    << "    for (int c = h * 16; c < h * 16 + 16; ++c) {\n"
    << "      const float v = sc[r * " << lds << " + c];\n"
    << "      const float pr = v == " << ninf << " ? 0.f : expf(v - mn);\n"
    << "      l += pr;\n"
    << "      ps[r * " << ldp << " + c] = " << toHalf << "(pr);\n"
    << "    }\n"
    << "    for (int d = h * " << DV / 2 << "; d < (h + 1) * " << DV / 2 << "; ++d) ow[r * " << ldo
    << " + d] *= alpha;\n"
    << "    m = mn;\n"
    << "    __syncwarp();\n"
    << "    for (int nb = 0; nb < " << DV / 16 << "; ++nb) {\n"
    << "      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;\n"
    << "      wmma::load_matrix_sync(acc, ow + nb * 16, " << ldo << ", wmma::mem_row_major);\n"
    << "      for (int kb = 0; kb < " << KT / 16 << "; ++kb) {\n"
    << "        wmma::fragment<wmma::matrix_a, 16, 16, 16, " << ht << ", wmma::row_major> ap;\n"
    << "        wmma::fragment<wmma::matrix_b, 16, 16, 16, " << ht << ", wmma::row_major> bv;\n"
    << "        wmma::load_matrix_sync(ap, ps + kb * 16, " << ldp << ");\n"
    << "        wmma::load_matrix_sync(bv, vs + kb * " << 16 * ldv << " + nb * 16, " << ldv << ");\n"
    << "        wmma::mma_sync(acc, ap, bv, acc);\n"
    << "      }\n"
    << "      wmma::store_matrix_sync(ow + nb * 16, acc, " << ldo << ", wmma::mem_row_major);\n"
    << "    }\n"
    << "    __syncwarp();\n"
    << "  }\n"
    << "  l += __shfl_xor_sync(0xffffffffu, l, 1);\n"
    << "  if (i >= " << S << "LL) return;\n"
    << "  const long long ooff = " << io.outRow("i") << ";\n"
    << "  for (int d = h * " << DV / 2 << "; d < (h + 1) * " << DV / 2 << "; ++d)\n"
    << "    out0[ooff + " << io.outDim() << "] = " << storeAs(ot, "ow[r * " + std::to_string(ldo) + " + d] / l") << ";\n"
    << "}\n";
  GeneratedKernel k;
  k.style = "attention";
  k.source = o.str();
  k.block = {32 * warps, 1, 1};
  k.grid = {(S + rows - 1) / rows, numElements(batch), 1};
  return k;
}
} // namespace

bool attentionReadsView(const KernelGraph &g, int v) {
  AttentionParts p = split(g);
  return v == p.q || v == p.k || v == p.v;
}

GeneratedKernel generateAttention(const KernelGraph &g) {
  AttentionParts p = split(g);
  // Strided views (KernelGraph::strides, offsets) are honoured for Q, K, V and the output
  // alone: a mask read through one would be read wrongly.
  for (const auto &[value, offset] : g.offsets)
    if (offset != 0 && value != p.q && value != p.k && value != p.v)
      codegenError(g, "a strided view of an input other than Q, K and V");
  for (const auto &[value, st] : g.strides)
    if (value != p.q && value != p.k && value != p.v && value != g.outputs.at(0))
      codegenError(g, "a strided view of an input other than Q, K and V");
  for (const auto &[value, dv] : g.divisors) // repeats on batch dims of Q, K, V alone
    if ((value != p.q && value != p.k && value != p.v) || dv.size() < 2 ||
        dv[dv.size() - 1] != 1 || dv[dv.size() - 2] != 1)
      codegenError(g, "a repeated view of other than a batch dim of Q, K or V");
  const Shape &qs = g.values[size_t(p.q)].shape, &ks = g.values[size_t(p.k)].shape,
              &vs = g.values[size_t(p.v)].shape;
  if (qs.size() < 2 || ks.size() < 2 || vs.size() < 2)
    codegenError(g, "Q, K and V need at least two dims");
  int64_t S = qs[qs.size() - 2], D = qs.back();
  int64_t T = p.kTransposed ? ks[ks.size() - 2] : ks.back();
  int64_t kD = p.kTransposed ? ks.back() : ks[ks.size() - 2];
  int64_t DV = vs.back();
  if (kD != D || vs[vs.size() - 2] != T)
    codegenError(g, "Q " + shapeToString(qs) + ", K " + shapeToString(ks) + ", V " +
                        shapeToString(vs) + " do not chain");
  auto batchOf = [](const Shape &s) { return Shape(s.begin(), s.end() - 2); };
  Shape batch = broadcastAll(g, {batchOf(qs), batchOf(ks), batchOf(vs)});
  const Shape &os = g.values[size_t(g.outputs[0])].shape;
  Shape scores = batch;
  scores.push_back(S);
  scores.push_back(T);
  Shape expectOut = batch;
  expectOut.push_back(S);
  expectOut.push_back(DV);
  if (os != expectOut)
    codegenError(g, "output " + shapeToString(os) + " is not " + shapeToString(expectOut));
  int64_t batches = numElements(batch);
  if (batches > 65535)
    codegenError(g, "more than 65535 attention batches (grid.y)");
  if (std::optional<GeneratedKernel> k = tensorCoreAttention(g, p, batch, scores, S, T, D, DV))
    return *k;
  // Scores: lane j of a warp computes key t0 + c + j's whole dot product from its row's q
  // (in shared memory, read by all lanes at once) and its key row (padded to D + 1 floats,
  // so the 32 lanes read 32 banks), then the score ops once per key, one expf per key; the
  // running max is reduced once per 32 keys. Output: lanes own ceil(DV/32) of the row's dims
  // and take each key's probability from its lane by a shuffle. The softmax sum stays a
  // per-lane partial (every lane rescales by the same factor) reduced once at the end.
  // Shared memory (floats, under 48 KB): rows * D for q, tile * (D + 1 + DV) for K and V.
  int64_t dvpl = (DV + 31) / 32;
  int64_t rowsPerBlock = std::clamp<int64_t>(2048 / std::max<int64_t>(D, 1), 1, 8);
  int64_t budget = 12288 - rowsPerBlock * D;
  int64_t tile = std::min<int64_t>(32, budget / (D + 1 + DV));
  if (tile < 1)
    codegenError(g, "head dims D " + std::to_string(D) + ", DV " + std::to_string(DV) +
                        " do not fit the attention kernel's shared memory");

  DType qt = g.values[size_t(p.q)].dtype, kt = g.values[size_t(p.k)].dtype,
        vt = g.values[size_t(p.v)].dtype, ot = g.values[size_t(g.outputs[0])].dtype;
  ElementWriter w(g, scores, "se");
  // Parameter names follow the graph's input order; Q, K, V may sit anywhere in it.
  auto param = [&](int value) { return w.paramName(value); };
  w.bind(p.qk->results[0], "s");

  const std::string ninf = "__int_as_float(0xff800000)";
  std::ostringstream o;
  o << includes(g) << "extern \"C\" __global__ void __launch_bounds__(" << 32 * rowsPerBlock
    << ") plumb_kernel(" << paramList(g) << ") {\n"
    << "  __shared__ float qrow[" << rowsPerBlock << "][" << D << "];\n"
    << "  __shared__ float ktile[" << tile << "][" << D + 1 << "];\n"
    << "  __shared__ float vtile[" << tile << "][" << DV << "];\n"
    << "  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;\n"
    << "  const long long i = (long long)blockIdx.x * " << rowsPerBlock << " + warp;\n";
  AttentionIo io(g, p, batch);
  io.emitOffsets(o);
  o << "  const bool active = i < " << S << "LL;\n"
    << "  for (int d = lane; d < " << D << "; d += 32)\n"
    << "    qrow[warp][d] = active ? " << loadAs(qt, param(p.q) + "[" + io.q("i") + "]") << " : 0.f;\n"
    << "  float acc[" << dvpl << "];\n"
    << "  for (int p = 0; p < " << dvpl << "; ++p) acc[p] = 0.f;\n"
    << "  float m = " << ninf << ", l = 0.f;\n"
    << "  for (long long t0 = 0; t0 < " << T << "LL; t0 += " << tile << ") {\n"
    << "    __syncthreads();\n";
  emitTileLoad(o, tile, D, T, "ktile[tt][d]", loadAs(kt, param(p.k) + "[" + io.k() + "]"), "0.f");
  emitTileLoad(o, tile, DV, T, "vtile[tt][d]", loadAs(vt, param(p.v) + "[" + io.v() + "]"), "0.f");
  o << "    __syncthreads();\n"
    << "    if (!active) continue;\n"
    << "    const int n = " << T << "LL - t0 < " << tile << " ? int(" << T << "LL - t0) : " << tile
    << ";\n"
    << "    for (int c = 0; c < n; c += 32) {\n"
    << "      const int tt = c + lane, nj = n - c < 32 ? n - c : 32;\n"
    << "      float sc = " << ninf << ";\n"
    << "      if (tt < n) {\n"
    << "        float s = 0.f;\n"
    << "        for (int d = 0; d < " << D << "; ++d) s += qrow[warp][d] * ktile[tt][d];\n"
    << "        const long long t = t0 + tt;\n";
  emitScoreOps(o, w, p, S, T, "        ", "sc");
  o << "      }\n"
    << "      float cm = sc;\n"
    << "      for (int off = 16; off > 0; off >>= 1) {\n"
    << "        const float other = __shfl_xor_sync(0xffffffffu, cm, off);\n"
    << "        cm = other > cm ? other : cm;\n"
    << "      }\n"
    << "      const float mn = cm > m ? cm : m;\n"
    << "      const float alpha = m == " << ninf << " ? 0.f : expf(m - mn);\n"
    << "      const float pr = sc == " << ninf << " ? 0.f : expf(sc - mn);\n"
    << "      l = l * alpha + pr;\n"
    << "      for (int p = 0; p < " << dvpl << "; ++p) acc[p] *= alpha;\n"
    << "      for (int j = 0; j < nj; ++j) {\n"
    << "        const float pj = __shfl_sync(0xffffffffu, pr, j);\n"
    << "        for (int p = 0; p < " << dvpl << "; ++p) {\n"
    << "          const int d = lane + 32 * p;\n"
    << "          if (d < " << DV << ") acc[p] += pj * vtile[c + j][d];\n"
    << "        }\n"
    << "      }\n"
    << "      m = mn;\n"
    << "    }\n"
    << "  }\n"
    << "  for (int off = 16; off > 0; off >>= 1) l += __shfl_xor_sync(0xffffffffu, l, off);\n"
    << "  if (!active) return;\n"
    << "  const long long ooff = " << io.outRow("i") << ";\n"
    << "  for (int p = 0; p < " << dvpl << "; ++p) {\n"
    << "    const int d = lane + 32 * p;\n"
    << "    if (d < " << DV << ") out0[ooff + " << io.outDim() << "] = " << storeAs(ot, "acc[p] / l") << ";\n"
    << "  }\n}\n";
  GeneratedKernel k;
  k.style = "attention";
  k.source = o.str();
  k.block = {32 * rowsPerBlock, 1, 1};
  k.grid = {(S + rowsPerBlock - 1) / rowsPerBlock, batches, 1};
  return k;
}

} // namespace plumb::cuda
