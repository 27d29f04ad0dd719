// Writes small artifacts that exercise every part of the format (constants of several
// types and sizes, a pre-packed constant, a transformed one, empty and scalar tensors, every attribute kind, absent optional inputs,
// named step outputs) as the seed corpus of fuzz_artifact. Usage: make_artifact_seeds DIR
#include "backends/reference/AttrValues.h"
#include "runtime/Artifact.h"

#include <cstdio>
#include <string>

using namespace plumb;

namespace {

Plan matmulRelu() {
  Plan p;
  int x = p.addInput(DType::F32, {2, 3}, "x");
  std::vector<float> w(12);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = float(i) * 0.25f - 1.0f;
  int wid = p.addConstant("w", Tensor::fromVector(DType::F32, {3, 4}, w));
  int t = p.addBuffer(BufferKind::Intermediate, DType::F32, {2, 4}, "t");
  int y = p.addOutput(DType::F32, {2, 4}, "y");
  p.addStep("cpu.matmul", {x, wid, -1}, {t}, "MatMul_0");
  Step &s = p.addStep("ref.Relu", {t}, {y}, "Relu_1");
  s.outputNames = {"y"};
  return p;
}

Plan attributesAndTypes() {
  Plan p;
  int a = p.addInput(DType::I64, {4}, "a");
  int s = p.addConstant("s", Tensor::scalarI64(7));
  int e = p.addConstant("e", Tensor::zeros(DType::F32, {0, 3}));
  int h = p.addConstant("h", Tensor::zeros(DType::F16, {5}));
  int u = p.addConstant("u", Tensor::zeros(DType::U8, {3}));
  int y = p.addOutput(DType::I64, {4}, "y");
  int z = p.addOutput(DType::F32, {0, 3}, "z");
  Step &add = p.addStep("ref.Add", {a, s}, {y}, "Add_0");
  add.opset = 13;
  add.attrs.set("ints", ref::intsAttr({1, -2, 3}));
  add.attrs.set("floats", ref::floatsAttr({0.5, -1.5}));
  add.attrs.set("post_ops", ref::stringsAttr({"relu", "clip:0:6"}));
  add.attrs.set("value",
                ref::tensorAttr(Tensor::fromVector(DType::F32, {2}, std::vector<float>{1.0f, 2.0f})));
  add.attrs.set("op", ref::stringAttr("Softmax"));
  p.addStep("ref.Identity", {e, h, u}, {z}, "Identity_1");
  return p;
}

// A matmul whose weights are stored pre-packed (runtime/Packing.h): 3x4 in blocks of 8 along
// the second dim (padded to 8), so the packed bytes outnumber the plain ones.
Plan packedMatmul() {
  Plan p = matmulRelu();
  Buffer &w = p.buffers[1];
  w.packing = "blocked dims=3,4 padded=3,8 strides=8,24 inner=1:8 scale=0x1p+0";
  w.constant = Tensor::zeros(DType::U8, {3 * 8 * 4});
  return p;
}

// A 3x3 convolution whose weights are stored transformed for the Winograd route: 16 blocks of
// 8x8x1 standing for the 8x8x3x3 constant.
Plan transformedConv() {
  Plan p;
  int x = p.addInput(DType::F32, {1, 8, 4, 4}, "x");
  int w = p.addConstant("w", Tensor::zeros(DType::F32, {8, 8, 3, 3}));
  int y = p.addOutput(DType::F32, {1, 8, 4, 4}, "y");
  Buffer &b = p.buffers[size_t(w)];
  b.packing = "blocked dims=8,8,1 padded=8,8,1 strides=8,1,1 inner= scale=0x1p+0 "
              "transform=winograd_f2x2_3x3";
  b.constant = Tensor::zeros(DType::U8, {16 * 8 * 8 * 4});
  p.addStep("cpu.conv", {x, w, -1}, {y}, "Conv_0");
  return p;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_artifact_seeds DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  try {
    writeArtifact(dir + "/matmul_relu.plumb", matmulRelu());
    writeArtifact(dir + "/attributes.plumb", attributesAndTypes());
    writeArtifact(dir + "/packed.plumb", packedMatmul());
    writeArtifact(dir + "/transformed.plumb", transformedConv());
  } catch (const Error &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return 0;
}
