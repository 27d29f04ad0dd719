// Internal to backends/cpu: the "post_ops" step attribute (activations and a residual add
// fused after a kernel), parsed once and applied either inside a oneDNN primitive or, for
// primitives that cannot fuse them, as in-place primitives right after it.
#pragma once

#include "backends/cpu/Dnnl.h"

#include <string>
#include <vector>

namespace plumb::cpu {

struct PostOp {
  bool isSum = false; // the residual add; otherwise an eltwise op
  dnnl::algorithm alg = dnnl::algorithm::eltwise_relu;
  float alpha = 0, beta = 0;
  std::string text; // as written in the attribute, for messages
};

struct PostOpList {
  std::vector<PostOp> ops;
  bool hasSum = false;
  // The residual is the step's last input; the kernel's own inputs are those before it.
  size_t ownInputs(const KernelArgs &a) const { return a.in.size() - (hasSum ? 1 : 0); }
};

// Reads attrs "post_ops" (a list of strings; see CpuBackend.h for the grammar). When a sum is
// present, checks that the last input exists and has the output's shape.
PostOpList parsePostOps(const KernelArgs &a);

// oneDNN 2.6's AVX2 gelu_tanh post-op is slow: fused into a 1x1 convolution of 128x768x3072
// (GPT-2's MLP) it adds 1.9 ms to 7.1 on one core, where a separate pass of
// vec::geluTanhInPlace over the output takes 0.5-0.7 ms (measured alone, AMD EPYC, AVX2).
// When the list ends in gelu_tanh and the CPU has AVX2, removes it and returns true: the
// kernel then runs vec::geluTanhInPlace on its output after the primitive.
bool takeTrailingGeluTanh(PostOpList &list);

// The list as oneDNN post-ops (sum scale 1) for primitives that fuse them.
dnnl::post_ops toDnnl(const PostOpList &list);

// Post-ops run as separate in-place primitives on the kernel's (plain) output.
class UnfusedPostOps {
public:
  void init(const PostOpList &list, const Desc &dst);
  bool empty() const { return steps_.empty(); }
  // `dst` holds the kernel's result; `residual` is the sum input (nullptr without a sum).
  void run(const dnnl::memory &dst, const void *residual);

private:
  struct Item {
    bool isSum = false;
    dnnl::primitive prim;
  };
  std::vector<Item> steps_;
  dnnl::memory residual_;
};

} // namespace plumb::cpu
