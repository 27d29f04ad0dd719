// Parsing of the "post_ops" attribute and its two ways of running (fused or in place).
#include "backends/cpu/PostOps.h"

#include "backends/cpu/VecMath.h"

#include <cstdlib>

namespace plumb::cpu {

namespace {

using dnnl::algorithm;

std::vector<std::string> splitColons(const std::string &s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == ':') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return parts;
}

float parseFloat(const KernelArgs &a, const std::string &text, const std::string &part) {
  char *end = nullptr;
  float v = std::strtof(part.c_str(), &end);
  if (part.empty() || *end != '\0')
    a.fail("post-op '" + text + "': '" + part + "' is not a number");
  return v;
}

// Name -> (algorithm, number of numeric parameters, default alpha, default beta).
struct EltwiseSpec {
  const char *name;
  algorithm alg;
  size_t params;
  float alpha, beta;
};

// SiLU is oneDNN's swish with alpha 1 (x * sigmoid(1 * x)). ONNX HardSwish and oneDNN's
// hardswish are both x * relu6(x + 3) / 6; oneDNN 2.6's soft_relu is log(1 + e^x).
const EltwiseSpec kSpecs[] = {
    {"relu", algorithm::eltwise_relu, 0, 0.f, 0.f},
    {"leaky_relu", algorithm::eltwise_relu, 1, 0.01f, 0.f},
    {"clip", algorithm::eltwise_clip, 2, 0.f, 0.f},
    {"sigmoid", algorithm::eltwise_logistic, 0, 0.f, 0.f},
    {"tanh", algorithm::eltwise_tanh, 0, 0.f, 0.f},
    {"sigmoid_mul", algorithm::eltwise_swish, 0, 1.f, 0.f},
    {"gelu_erf", algorithm::eltwise_gelu_erf, 0, 0.f, 0.f},
    {"gelu_tanh", algorithm::eltwise_gelu_tanh, 0, 0.f, 0.f},
    {"elu", algorithm::eltwise_elu, 1, 1.f, 0.f},
    {"hardswish", algorithm::eltwise_hardswish, 0, 0.f, 0.f},
    {"softplus", algorithm::eltwise_soft_relu, 0, 0.f, 0.f},
    {"linear", algorithm::eltwise_linear, 2, 1.f, 0.f},
};

PostOp parseOne(const KernelArgs &a, const std::string &text) {
  std::vector<std::string> parts = splitColons(text);
  PostOp op;
  op.text = text;
  if (parts[0] == "sum") {
    if (parts.size() != 1)
      a.fail("post-op 'sum' takes no parameters");
    op.isSum = true;
    return op;
  }
  for (const EltwiseSpec &s : kSpecs) {
    if (parts[0] != s.name)
      continue;
    // leaky_relu and elu may omit their parameter (ONNX defaults); clip/linear may not.
    bool optional = s.params == 1;
    if (parts.size() - 1 != s.params && !(optional && parts.size() == 1))
      a.fail("post-op '" + text + "' needs " + std::to_string(s.params) + " parameter(s)");
    op.alg = s.alg;
    op.alpha = parts.size() > 1 ? parseFloat(a, text, parts[1]) : s.alpha;
    op.beta = parts.size() > 2 ? parseFloat(a, text, parts[2]) : s.beta;
    return op;
  }
  a.fail("unknown post-op '" + text + "'");
}

} // namespace

PostOpList parsePostOps(const KernelArgs &a) {
  PostOpList list;
  const ref::AttrValue *v = a.attrs().find("post_ops");
  if (!v)
    return list;
  if (v->kind != ref::AttrValue::Kind::Strings)
    a.fail("attribute 'post_ops' must be a list of strings");
  for (const std::string &text : v->strings) {
    PostOp op = parseOne(a, text);
    if (op.isSum && list.hasSum)
      a.fail("post_ops has more than one 'sum'");
    list.hasSum = list.hasSum || op.isSum;
    list.ops.push_back(op);
  }
  if (list.hasSum) {
    if (a.in.empty() || !a.in.back().present)
      a.fail("post-op 'sum' needs the residual as the last input");
    const BufferInfo &r = a.in.back();
    const BufferInfo &y = a.output(0);
    if (r.dtype != DType::F32 || r.shape != y.shape)
      a.fail("the residual of post-op 'sum' is " + std::string(dtypeName(r.dtype)) + "[" +
             shapeToString(r.shape) + "], the output f32[" + shapeToString(y.shape) + "]");
  }
  return list;
}

bool takeTrailingGeluTanh(PostOpList &list) {
  if (list.ops.empty() || list.ops.back().isSum ||
      list.ops.back().alg != algorithm::eltwise_gelu_tanh || !vec::hasAvx2())
    return false;
  list.ops.pop_back();
  return true;
}

dnnl::post_ops toDnnl(const PostOpList &list) {
  dnnl::post_ops po;
  for (const PostOp &op : list.ops) {
    if (op.isSum)
      po.append_sum(1.f);
    else
      po.append_eltwise(1.f, op.alg, op.alpha, op.beta);
  }
  return po;
}

void UnfusedPostOps::init(const PostOpList &list, const Desc &dst) {
  steps_.clear();
  for (const PostOp &op : list.ops) {
    Item item;
    item.isSum = op.isSum;
    if (op.isSum) {
      dnnl::binary::desc d(algorithm::binary_add, dst, dst, dst);
      item.prim = dnnl::binary(dnnl::binary::primitive_desc(d, engine()));
      residual_ = handleMemory(dst);
    } else {
      dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, op.alg, dst, op.alpha,
                                    op.beta);
      item.prim = dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(d, engine()));
    }
    steps_.push_back(std::move(item));
  }
}

void UnfusedPostOps::run(const dnnl::memory &dst, const void *residual) {
  for (Item &item : steps_) {
    if (item.isSum) {
      bind(residual_, residual);
      item.prim.execute(stream(),
                        {{DNNL_ARG_SRC_0, dst}, {DNNL_ARG_SRC_1, residual_}, {DNNL_ARG_DST, dst}});
    } else {
      item.prim.execute(stream(), {{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}});
    }
  }
}

} // namespace plumb::cpu
