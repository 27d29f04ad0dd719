// cpu.softmax, cpu.layer_norm and cpu.batch_norm: oneDNN's softmax_v2, layer and batch
// normalization primitives (inference), each followed by unfused post-ops; LogSoftmax without
// post-ops is vec::logSoftmaxBlock instead.
#include "backends/cpu/Kernels.h"
#include "backends/cpu/PostOps.h"
#include "backends/cpu/VecMath.h"

namespace plumb::cpu {

namespace {

int64_t product(const Shape &s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to; ++d)
    p *= s[d];
  return p;
}

size_t normalizeAxis(const KernelArgs &a, int64_t axis, size_t rank) {
  int64_t r = int64_t(rank);
  if (axis < -r || axis >= r)
    a.fail("axis " + std::to_string(axis) + " out of [" + std::to_string(-r) + ", " +
           std::to_string(r - 1) + "]");
  return size_t(axis < 0 ? axis + r : axis);
}

// The part every kernel here shares: one primitive from a plain input to a plain output,
// extra arguments bound per run, then unfused post-ops on the output.
class NormKernel : public RuntimeKernel {
public:
  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    bind(src_, in[0]->raw());
    bind(dst_, out[0]->mutableRaw());
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}};
    for (auto &[arg, index] : params_) {
      bind(paramMem_[arg], in[index]->raw());
      args[arg] = paramMem_[arg];
    }
    for (auto &[arg, mem] : ownedParams_)
      args[arg] = mem;
    prim_.execute(stream(), args);
    post_.run(dst_, hasSum_ ? in.back()->raw() : nullptr);
    stream().wait();
  }

protected:
  void finish(const KernelArgs &a, dnnl::primitive prim, const Desc &data) {
    PostOpList list = parsePostOps(a);
    hasSum_ = list.hasSum;
    post_.init(list, data);
    prim_ = std::move(prim);
    src_ = handleMemory(data);
    dst_ = handleMemory(data);
  }
  // oneDNN argument `arg` is the step's input `index`, of layout `desc`.
  void param(int arg, size_t index, const Desc &desc) {
    params_.push_back({arg, index});
    paramMem_[arg] = handleMemory(desc);
  }
  std::unordered_map<int, dnnl::memory> ownedParams_;

private:
  dnnl::primitive prim_;
  dnnl::memory src_, dst_;
  std::vector<std::pair<int, size_t>> params_;
  std::unordered_map<int, dnnl::memory> paramMem_;
  UnfusedPostOps post_;
  bool hasSum_ = false;
};

// attrs: axis; "op" = "Softmax" (default) or "LogSoftmax". Before opset 13 the input is
// coerced to 2-D at axis (default 1); from 13 the op runs along the one axis (default -1).
// Both become a 3-D [outer, len, inner] softmax along dim 1.
class SoftmaxKernel final : public NormKernel {
public:
  explicit SoftmaxKernel(const KernelArgs &a) {
    a.requireF32(1);
    std::string op = a.attrs().getString("op", "Softmax");
    if (op != "Softmax" && op != "LogSoftmax")
      a.fail("unknown op '" + op + "'");
    const Shape &x = a.input(0).shape;
    if (a.output(0).shape != x)
      a.fail("output shape differs from the input's");
    bool legacy = a.step.opset < 13;
    Dims dims{1, 1, 1}; // a scalar is a softmax over one element
    if (!x.empty()) {
      size_t axis = normalizeAxis(a, a.attrs().getInt("axis", legacy ? 1 : -1), x.size());
      size_t end = legacy ? x.size() : axis + 1;
      dims = {product(x, 0, axis), product(x, axis, end), product(x, end, x.size())};
    }
    Desc data = plainDesc(dims);
    auto alg = op == "Softmax" ? dnnl::algorithm::softmax_accurate : dnnl::algorithm::softmax_log;
    dnnl::softmax_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, data, data, 1);
    auto pd = createPd(a, "softmax",
                       [&] { return dnnl::softmax_v2_forward::primitive_desc(d, engine()); });
    finish(a, dnnl::softmax_v2_forward(pd), data);
  }
};

// attrs: axis (default -1), epsilon; inputs X, Scale, [B]. X is viewed as [rows, len] with
// len the product of the dims from axis on. Scale and B must have len elements, or be
// constants that broadcast to the normalised block (expanded here, once).
class LayerNormKernel final : public NormKernel {
public:
  explicit LayerNormKernel(const KernelArgs &a) {
    a.requireF32(3);
    for (size_t i = 1; i < a.out.size(); ++i)
      if (a.out[i].present)
        a.fail("the Mean and InvStdDev outputs are not produced; use ref.LayerNormalization");
    const Shape &x = a.input(0).shape;
    if (x.empty() || a.output(0).shape != x)
      a.fail("bad input or output shape " + shapeToString(x));
    size_t axis = normalizeAxis(a, a.attrs().getInt("axis", -1), x.size());
    Shape block(x.begin() + int64_t(axis), x.end());
    Dims dims{product(x, 0, axis), numElements(block)};
    Desc data = plainDesc(dims);
    bool hasBias = parsePostOps(a).ownInputs(a) > 2 && a.has(2); // not a "sum" residual
    auto flags = dnnl::normalization_flags::use_scale;
    if (hasBias)
      flags |= dnnl::normalization_flags::use_shift;
    dnnl::layer_normalization_forward::desc d(dnnl::prop_kind::forward_inference, data,
                                              float(a.number("epsilon", 1e-5)), flags);
    auto pd = createPd(a, "layer normalization", [&] {
      return dnnl::layer_normalization_forward::primitive_desc(d, engine());
    });
    setParam(a, DNNL_ARG_SCALE, 1, block);
    if (hasBias)
      setParam(a, DNNL_ARG_SHIFT, 2, block);
    finish(a, dnnl::layer_normalization_forward(pd), data);
  }

private:
  void setParam(const KernelArgs &a, int arg, size_t index, const Shape &block) {
    // Leading 1s beyond the block's rank do not change which element goes where.
    Shape ps = a.input(index).shape;
    while (ps.size() > block.size() && ps.front() == 1)
      ps.erase(ps.begin());
    Desc desc = plainDesc({numElements(block)});
    if (numElements(ps) == numElements(block) && broadcastsTo(ps, block))
      return param(arg, index, desc);
    if (!a.constant(index) || !broadcastsTo(ps, block))
      a.fail("parameter " + shapeToString(a.input(index).shape) + " must broadcast to " +
             shapeToString(block) + " (and be a constant unless it has as many elements)");
    std::vector<float> full(size_t(numElements(block)));
    broadcastCopy(a.constant(index)->data<float>(), ps, full.data(), block);
    ownedParams_[arg] = reorderedCopy(full.data(), desc, desc);
  }
};

// BatchNormalization in inference mode: inputs X, scale, B, mean, var (each C elements);
// attrs epsilon. X (N, C, spatial...) is viewed as (N, C, S, 1).
class BatchNormKernel final : public NormKernel {
public:
  explicit BatchNormKernel(const KernelArgs &a) {
    a.requireF32(5);
    if (a.attrs().getInt("training_mode", 0) != 0)
      a.fail("training_mode=1 is not supported");
    for (size_t i = 1; i < a.out.size(); ++i)
      if (a.out[i].present)
        a.fail("only the Y output is produced; use ref.BatchNormalization");
    const Shape &x = a.input(0).shape;
    if (x.size() < 2 || a.output(0).shape != x)
      a.fail("bad input or output shape " + shapeToString(x));
    // Per channel: a channel-blocked source (between convolutions) is read as it is stored.
    Layout layout = sameLayout({&a.in[0], &a.out[0]}, "cpu.batch_norm");
    Desc data = layout == Layout::Plain ? plainDesc({x[0], x[1], product(x, 2, x.size()), 1})
                                        : storageDesc(toDims(x), layout);
    auto flags = dnnl::normalization_flags::use_global_stats |
                 dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, data,
                                              float(a.number("epsilon", 1e-5)), flags);
    auto pd = createPd(a, "batch normalization", [&] {
      return dnnl::batch_normalization_forward::primitive_desc(d, engine());
    });
    const int args[4] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
    for (size_t i = 1; i <= 4; ++i) {
      if (numElements(a.input(i).shape) != x[1])
        a.fail("parameter " + std::to_string(i) + " must have " + std::to_string(x[1]) +
               " elements");
      param(args[i - 1], i, plainDesc({x[1]}));
    }
    finish(a, dnnl::batch_normalization_forward(pd), data);
  }
};

} // namespace

// LogSoftmax (oneDNN's softmax_log was 2864 ulps off on a row's largest entry), and Softmax
// along an axis with dims after it (oneDNN's strided softmax was 30x slower), without
// post-ops: vec::logSoftmaxBlock / softmaxBlock over each [len, inner] block, the blocks on
// the OpenMP team.
class OwnSoftmaxKernel final : public RuntimeKernel {
public:
  OwnSoftmaxKernel(const KernelArgs &a, bool log) : log_(log) {
    a.requireF32(1);
    const Shape &x = a.input(0).shape;
    if (a.output(0).shape != x)
      a.fail("output shape differs from the input's");
    bool legacy = a.step.opset < 13;
    if (!x.empty()) {
      size_t axis = normalizeAxis(a, a.attrs().getInt("axis", legacy ? 1 : -1), x.size());
      size_t end = legacy ? x.size() : axis + 1;
      outer_ = product(x, 0, axis);
      len_ = product(x, axis, end);
      inner_ = product(x, end, x.size());
    }
  }

  void run(const std::vector<const Tensor *> &in, std::vector<Tensor *> &out) override {
    const float *x = in[0]->data<float>();
    float *y = out[0]->mutableData<float>();
    int64_t block = len_ * inner_;
#pragma omp parallel for schedule(static) if (outer_ > 1 && outer_ * block > 16384)
    for (int64_t o = 0; o < outer_; ++o)
      (log_ ? vec::logSoftmaxBlock : vec::softmaxBlock)(x + o * block, y + o * block, len_,
                                                         inner_);
  }

  int64_t inner() const { return inner_; }

private:
  bool log_;
  int64_t outer_ = 1, len_ = 1, inner_ = 1; // a scalar is a softmax over one element
};

std::unique_ptr<RuntimeKernel> makeSoftmaxKernel(const KernelArgs &a) {
  if (parsePostOps(a).ops.empty()) {
    bool log = a.attrs().getString("op", "Softmax") == "LogSoftmax";
    auto own = std::make_unique<OwnSoftmaxKernel>(a, log);
    if (log || own->inner() > 1)
      return own;
  }
  return std::make_unique<SoftmaxKernel>(a);
}
std::unique_ptr<RuntimeKernel> makeLayerNormKernel(const KernelArgs &a) {
  return std::make_unique<LayerNormKernel>(a);
}
std::unique_ptr<RuntimeKernel> makeBatchNormKernel(const KernelArgs &a) {
  return std::make_unique<BatchNormKernel>(a);
}

} // namespace plumb::cpu
