// cpu.einsum: an Einsum evaluated as a chain of pairwise contractions, left to right. Each pair
// is permuted (oneDNN reorders) to [batch, free, contracted] x [batch, contracted, free] and
// multiplied with one batched oneDNN matmul; a pair with nothing to contract is an outer
// product per batch (a plain loop). The last result is permuted to the output's label order.
//
// Accepted equations (anything else stays on ref.Einsum, see einsumSupported): explicit
// "->" output, no "...", no label twice in one operand, and every label that appears in only
// one operand also appears in the output (so no operand needs a reduction of its own).
#include "backends/cpu/Kernels.h"

#include <algorithm>
#include <cstring>
#include <map>

namespace plumb::cpu {

namespace {

struct Parsed {
  std::vector<std::string> inputs;
  std::string output;
};

std::optional<Parsed> parse(const std::string &equation) {
  std::string eq;
  for (char c : equation)
    if (c != ' ')
      eq.push_back(c);
  size_t arrow = eq.find("->");
  if (arrow == std::string::npos || eq.find("...") != std::string::npos)
    return std::nullopt;
  Parsed p;
  p.output = eq.substr(arrow + 2);
  std::string lhs = eq.substr(0, arrow);
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    p.inputs.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  std::map<char, int> operandsWith;
  for (const std::string &t : p.inputs) {
    for (char c : t) {
      if (!std::isalpha(static_cast<unsigned char>(c)) ||
          std::count(t.begin(), t.end(), c) != 1)
        return std::nullopt;
      operandsWith[c]++;
    }
  }
  for (char c : p.output)
    if (!operandsWith.count(c) || std::count(p.output.begin(), p.output.end(), c) != 1)
      return std::nullopt;
  for (auto [c, n] : operandsWith)
    if (n == 1 && p.output.find(c) == std::string::npos)
      return std::nullopt;
  return p;
}

// A dense f32 tensor in flight: its labels (one per dim, row-major) and storage.
struct Term {
  std::string labels;
  Dims dims;
  const float *data = nullptr; // an input's memory, or `own`
  std::vector<float> own;
};

// Copies `src` (dims in `from` label order) into `dst` laid out in `to` label order.
class Permute {
public:
  void init(const std::string &from, const Dims &fromDims, const std::string &to) {
    identity_ = from == to;
    if (identity_)
      return;
    Dims strides = rowMajorStrides(fromDims), toDims, view;
    for (char c : to) {
      size_t i = from.find(c);
      toDims.push_back(fromDims[i]);
      view.push_back(strides[i]);
    }
    src_ = handleMemory(Desc(toDims, dnnl::memory::data_type::f32, view));
    dst_ = handleMemory(plainDesc(toDims));
    prim_ = dnnl::reorder(src_, dst_);
  }
  bool identity() const { return identity_; }
  void run(const float *src, float *dst) {
    bind(src_, src);
    bind(dst_, dst);
    prim_.execute(stream(), src_, dst_);
  }

private:
  bool identity_ = true;
  dnnl::memory src_, dst_;
  dnnl::reorder prim_;
};

// One pairwise contraction of `a` and `b`, keeping the labels in `keep`.
struct Pair {
  std::string batch, freeA, freeB, contract;
  int64_t nb = 1, m = 1, n = 1, k = 1;
  Permute pa, pb;
  // Offsets (in floats) into the kernel's scratch: permuted operands (-1: used in place) and
  // the product.
  int64_t bufA = -1, bufB = -1, result = 0;
  bool useMatmul = false;
  dnnl::matmul mm;
  dnnl::memory ma, mb, mc;
};

int64_t extent(const std::map<char, int64_t> &size, const std::string &labels) {
  int64_t e = 1;
  for (char c : labels)
    e *= size.at(c);
  return e;
}

class EinsumKernel final : public RuntimeKernel {
public:
  explicit EinsumKernel(const KernelArgs &a) {
    a.requireF32(a.in.size());
    std::optional<Parsed> p = parse(a.attrs().getString("equation", ""));
    if (!p || p->inputs.size() != a.in.size())
      a.fail("cpu.einsum: equation '" + a.attrs().getString("equation", "") +
             "' is not one it runs (use ref.Einsum)");
    for (size_t i = 0; i < a.in.size(); ++i) {
      const Shape &s = a.input(i).shape;
      if (s.size() != p->inputs[i].size())
        a.fail("cpu.einsum: operand " + std::to_string(i) + " " + shapeToString(s) +
               " does not fit '" + p->inputs[i] + "'");
      for (size_t d = 0; d < s.size(); ++d) {
        auto [it, fresh] = size_.emplace(p->inputs[i][d], s[d]);
        if (!fresh && it->second != s[d])
          a.fail(std::string("cpu.einsum: label '") + p->inputs[i][d] + "' has extents " +
                 std::to_string(it->second) + " and " + std::to_string(s[d]));
      }
    }
    inputs_ = p->inputs;
    std::string cur = inputs_[0];
    for (size_t i = 1; i < inputs_.size(); ++i) {
      std::string keep = p->output;
      for (size_t j = i + 1; j < inputs_.size(); ++j)
        keep += inputs_[j];
      pairs_.push_back(plan(cur, inputs_[i], keep));
      const Pair &q = pairs_.back();
      cur = q.batch + q.freeA + q.freeB;
    }
    last_ = cur;
    Dims curDims;
    for (char c : cur)
      curDims.push_back(size_.at(c));
    final_.init(cur, curDims, p->output);
    Shape want;
    for (char c : p->output)
      want.push_back(size_.at(c));
    if (want != a.output(0).shape)
      a.fail("cpu.einsum: planned output " + shapeToString(a.output(0).shape) + ", equation gives " +
             shapeToString(want));
  }

  size_t scratchBytes() const override { return size_t(scratchFloats_) * sizeof(float); }

  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    auto *work = static_cast<float *>(scratch());
    const float *cur = in[0]->data<float>();
    for (size_t i = 0; i < pairs_.size(); ++i) {
      Pair &q = pairs_[i];
      const float *A = cur, *B = in[i + 1]->data<float>();
      if (!q.pa.identity())
        q.pa.run(A, work + q.bufA), A = work + q.bufA;
      if (!q.pb.identity())
        q.pb.run(B, work + q.bufB), B = work + q.bufB;
      float *C = work + q.result;
      if (q.useMatmul) {
        bind(q.ma, A), bind(q.mb, B), bind(q.mc, C);
        q.mm.execute(stream(), {{DNNL_ARG_SRC, q.ma}, {DNNL_ARG_WEIGHTS, q.mb}, {DNNL_ARG_DST, q.mc}});
      } else { // nothing contracted: an outer product per batch
        stream().wait();
        for (int64_t b = 0; b < q.nb; ++b)
          for (int64_t r = 0; r < q.m; ++r) {
            float s = A[b * q.m + r];
            const float *brow = B + b * q.n;
            float *crow = C + (b * q.m + r) * q.n;
            for (int64_t c = 0; c < q.n; ++c)
              crow[c] = s * brow[c];
          }
      }
      cur = C;
    }
    float *y = out[0]->mutableData<float>();
    if (final_.identity())
      std::memcpy(y, cur, out[0]->nbytes());
    else
      final_.run(cur, y);
    stream().wait();
  }

private:
  Pair plan(const std::string &a, const std::string &b, const std::string &keep) {
    Pair q;
    for (char c : a) {
      bool inB = b.find(c) != std::string::npos, kept = keep.find(c) != std::string::npos;
      (inB ? (kept ? q.batch : q.contract) : q.freeA).push_back(c);
    }
    for (char c : b)
      if (a.find(c) == std::string::npos)
        q.freeB.push_back(c);
    q.nb = extent(size_, q.batch), q.m = extent(size_, q.freeA);
    q.n = extent(size_, q.freeB), q.k = extent(size_, q.contract);
    Dims aDims, bDims;
    for (char c : a)
      aDims.push_back(size_.at(c));
    for (char c : b)
      bDims.push_back(size_.at(c));
    q.pa.init(a, aDims, q.batch + q.freeA + q.contract);
    q.pb.init(b, bDims, q.batch + q.contract + q.freeB);
    // Every pair's buffers side by side (a pair reads the previous product), each 64-byte
    // aligned.
    auto take = [&](int64_t floats) {
      int64_t at = scratchFloats_;
      scratchFloats_ += (floats + 15) / 16 * 16;
      return at;
    };
    if (!q.pa.identity())
      q.bufA = take(q.nb * q.m * q.k);
    if (!q.pb.identity())
      q.bufB = take(q.nb * q.k * q.n);
    q.result = take(q.nb * q.m * q.n);
    q.useMatmul = !q.contract.empty();
    if (q.useMatmul) {
      Desc da = plainDesc({q.nb, q.m, q.k}), db = plainDesc({q.nb, q.k, q.n});
      Desc dc = plainDesc({q.nb, q.m, q.n});
      q.mm = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(da, db, dc), engine()));
      q.ma = handleMemory(da), q.mb = handleMemory(db), q.mc = handleMemory(dc);
    }
    return q;
  }

  std::map<char, int64_t> size_;
  std::vector<std::string> inputs_;
  std::vector<Pair> pairs_;
  int64_t scratchFloats_ = 0;
  std::string last_;
  Permute final_;
};

} // namespace

bool einsumSupported(const std::string &equation) { return parse(equation).has_value(); }

std::unique_ptr<RuntimeKernel> makeEinsumKernel(const KernelArgs &a) {
  return std::make_unique<EinsumKernel>(a);
}

} // namespace plumb::cpu
