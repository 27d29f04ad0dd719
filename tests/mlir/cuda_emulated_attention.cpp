// The attention kernel's tiling against the reference interpreter: keys in shared-memory tiles,
// 32 keys at a time (a lane each) within a tile, several query rows (warps) per block. The
// shapes put a partial tile, a partial 32-key chunk, warps with no query row and, for wide
// heads, fewer rows per block and shorter tiles; the mask puts rows whose first tiles are all
// masked (-inf) and a causal one.
#include "tests/mlir/CudaGraphBuilders.h"

#include "frontend/tensorio/TensorIO.h"

#include <limits>

using namespace plumb;
using namespace plumb::cudatest;
using namespace plumb::cudatest::graphs;

namespace {

struct AttentionShape {
  int64_t heads, S, T, D, DV;
};

// softmax(q k^T * scale + mask) v with q [1, H, S, D], k [1, H, T, D], v [1, H, T, DV] and a
// constant additive mask [1, 1, S, T]: row r may see keys from start(r) on (0 for a third of
// the rows, past the first 40 keys for another) up to r + T - S (causal) when `causal`.
std::string writeAttention(const AttentionShape &a, bool causal, const std::string &file) {
  onnx::ModelProto m = newModel("attention", 17);
  onnx::GraphProto *g = m.mutable_graph();
  floatValue(g->add_input(), "q", {1, a.heads, a.S, a.D});
  floatValue(g->add_input(), "k", {1, a.heads, a.T, a.D});
  floatValue(g->add_input(), "v", {1, a.heads, a.T, a.DV});
  const float ninf = -std::numeric_limits<float>::infinity();
  floatInitializer(g, "mask", {1, 1, a.S, a.T}, [&](int64_t e) {
    int64_t r = e / a.T, t = e % a.T;
    int64_t start = r % 3 == 0 ? 0 : r % 3 == 1 ? std::min<int64_t>(41, a.T - 1) : (r * 7) % a.T;
    int64_t end = causal ? std::max<int64_t>(r + a.T - a.S, start) : a.T - 1;
    return t >= start && t <= end ? 0.0f : ninf;
  });
  scalar(g, "scale", 1.0f / std::sqrt(float(a.D)));
  intsAttrOf(node(g, "Transpose", "k_t", {"k"}, "kt"), "perm", {0, 1, 3, 2});
  node(g, "MatMul", "scores", {"q", "kt"}, "s");
  node(g, "Mul", "scaled", {"s", "scale"}, "ss");
  node(g, "Add", "masked", {"ss", "mask"}, "sm");
  node(g, "Softmax", "probs", {"sm"}, "p"); // axis -1 (opset 13 on)
  node(g, "MatMul", "context", {"p", "v"}, "out");
  floatValue(g->add_output(), "out");
  return saveModel(m, file);
}

} // namespace

TEST(CudaAttention, KeyTilesAndLaneChunksCoverEveryKey) {
  // D 16: 8 rows a block, tiles of 32 keys, T 70 in tiles 32, 32, 6; S 13 leaves 3 warps of
  // the second block idle. D 320: 6 rows a block, tiles of 16 keys. D 40 / DV 24: chunks of
  // 32 lanes over a 31-key tile (D + 1 + DV padded rows), T 100.
  const AttentionShape shapes[] = {{2, 13, 70, 16, 16}, {1, 7, 40, 320, 320}, {3, 9, 100, 40, 24}};
  for (const AttentionShape &a : shapes)
    for (bool causal : {false, true}) {
      std::string tag = "attn_" + std::to_string(a.S) + "x" + std::to_string(a.T) + "x" +
                        std::to_string(a.D) + (causal ? "_causal" : "");
      std::string model = writeAttention(a, causal, tag + ".onnx");
      for (const char *dtype : {"f32", "f16"}) {
        KeptPlan k = runKept(model, "", dtype, keepNone, tag + "_" + dtype);
        EXPECT_EQ(stepsOfStyle(k.compiled.plan, "attention"), 1) << tag << " " << dtype;
        expectClose(k, dtype);
      }
    }
}

// Q, K and V stored in f16 or bf16 with head dims multiples of 16 and at least 16 query rows
// take the tensor-core kernel (wmma, f32 accumulation; the emulator multiplies its fragments
// in f32): 64 query rows a block with a partial last block and idle warps, a partial key tile,
// D 128 (two warps a block for shared memory), an exact fit; masked first tiles, causal.
// In f32, or with 13 query rows, the FMA kernel.
TEST(CudaAttention, HalfHeadsTakeTheTensorCoreKernel) {
  const AttentionShape shapes[] = {{2, 37, 70, 16, 32}, {1, 20, 45, 128, 128}, {1, 64, 64, 64, 64},
                                   {2, 13, 70, 16, 16}};
  for (const AttentionShape &a : shapes)
    for (bool causal : {false, true}) {
      std::string tag = "mma_" + std::to_string(a.S) + "x" + std::to_string(a.T) + "x" +
                        std::to_string(a.D) + (causal ? "_causal" : "");
      std::string model = writeAttention(a, causal, tag + ".onnx");
      for (const char *dtype : {"f32", "f16", "bf16"}) {
        KeptPlan k = runKept(model, "", dtype, keepNone, tag + "_" + dtype);
        int mma = 0, attention = 0;
        for (const Step &s : k.compiled.plan.steps)
          if (s.attrs.getString("style", "") == "attention") {
            ++attention;
            mma += s.attrs.getString("source", "").find("wmma::mma_sync") != std::string::npos;
          }
        EXPECT_EQ(attention, 1) << tag << " " << dtype;
        EXPECT_EQ(mma, std::string(dtype) != "f32" && a.S >= 16 ? 1 : 0) << tag << " " << dtype;
        expectClose(k, dtype);
      }
    }
}

// The opset-23 Attention op (as torch.onnx exports scaled_dot_product_attention) is decomposed
// for CUDA (plumb-decompose-attention) and runs as the attention kernel, not on the host:
// grouped query heads (4 query heads on 2 key/value heads), an additive mask with the causal
// triangle, an explicit scale; a boolean mask; a KV cache (3 past positions, the present
// keys/values graph outputs) with the triangle offset by the past, and a softcap; 3-D
// inputs with their head counts. The K/V head repeat and the 3-D head split are read in place.
TEST(CudaAttention, Opset23AttentionIsTheAttentionKernel) {
  for (const char *form : {"causal", "bool", "cache", "3d"}) {
    std::string f = form;
    onnx::ModelProto m = newModel("sdpa", 23);
    onnx::GraphProto *g = m.mutable_graph();
    if (f == "3d") { // [B, S, heads * d]
      floatValue(g->add_input(), "q", {1, 5, 4 * 16});
      floatValue(g->add_input(), "k", {1, 7, 2 * 16});
      floatValue(g->add_input(), "v", {1, 7, 2 * 8});
    } else {
      floatValue(g->add_input(), "q", {1, 4, 5, 16});
      floatValue(g->add_input(), "k", {1, 2, 7, 16});
      floatValue(g->add_input(), "v", {1, 2, 7, 8});
    }
    int64_t keys = 7;
    std::vector<std::string> in{"q", "k", "v", "mask"}, out{"y"};
    if (f == "cache") {
      floatValue(g->add_input(), "past_k", {1, 2, 3, 16});
      floatValue(g->add_input(), "past_v", {1, 2, 3, 8});
      keys = 10;
      in.insert(in.end(), {"past_k", "past_v"});
      out.insert(out.end(), {"present_k", "present_v"});
    }
    if (f == "bool") {
      onnx::TensorProto *t = g->add_initializer();
      t->set_name("mask");
      t->set_data_type(onnx::TensorProto::BOOL);
      t->add_dims(5);
      t->add_dims(7);
      for (int64_t e = 0; e < 35; ++e)
        t->add_int32_data((e % 7) != (e / 7) % 3); // each row sees all keys but one
    } else {
      floatInitializer(g, "mask", {5, keys}, [](int64_t e) { return 0.1f * float(e % 4) - 0.2f; });
    }
    onnx::NodeProto *n = node(g, "Attention", "sdpa", in, "y");
    for (size_t i = 1; i < out.size(); ++i)
      n->add_output(out[i]);
    if (f == "3d")
      for (auto [name, heads] : {std::pair{"q_num_heads", 4}, std::pair{"kv_num_heads", 2}})
        intAttrOf(n, name, heads);
    if (f != "bool") {
      intAttrOf(n, "is_causal", 1);
      floatAttrOf(n, f == "cache" ? "softcap" : "scale", f == "cache" ? 2.0f : 0.3f);
    }
    for (const std::string &o : out)
      floatValue(g->add_output(), o);
    std::string tag = "sdpa_" + f;
    std::string model = saveModel(m, tag + ".onnx");
    for (const char *dtype : {"f32", "f16"}) {
      KeptPlan k = runKept(model, "", dtype, keepNone, tag + "_" + dtype);
      const Plan &plan = k.compiled.plan;
      bool half = std::string(dtype) != "f32";
      EXPECT_EQ(stepsOfStyle(plan, "attention"), 1) << tag << " " << dtype;
      // the cache's Concats are the present outputs, stored
      EXPECT_EQ(stepsOfStyle(plan, "movement"), f == "cache" ? 2 : 0) << tag << " " << dtype;
      // the constant mask and triangle are one constant: no kernel but the casts (inputs, outputs)
      EXPECT_EQ(stepsOfStyle(plan, "elementwise"), half ? int(in.size() - 1 + out.size()) : 0)
          << tag << " " << dtype;
      expectClose(k, dtype);
    }
  }
}

// The rest of opset 23/24's Attention on the device: a mask shorter than the keys (the rest
// masked out), nonpad_kv_seqlen given at run time (each batch's keys from its length on
// masked out), and a read qk_matmul_output (the scores after the softcap, mode 2: the body
// is then lowered op by op). Values, the qk output too, against the reference.
TEST(CudaAttention, PaddedKeysAndQkOutputStayOnTheDevice) {
  for (const char *form : {"padded", "qk"}) {
    std::string f = form;
    onnx::ModelProto m = newModel("sdpa", 24);
    onnx::GraphProto *g = m.mutable_graph();
    floatValue(g->add_input(), "q", {2, 4, 5, 16});
    floatValue(g->add_input(), "k", {2, 2, 7, 16});
    floatValue(g->add_input(), "v", {2, 2, 7, 8});
    std::vector<std::string> in{"q", "k", "v", "mask"};
    floatInitializer(g, "mask", {5, f == "padded" ? 4 : 7},
                     [](int64_t e) { return 0.1f * float(e % 4) - 0.2f; });
    NamedTensors feeds;
    for (auto [name, shape] : {std::pair<const char *, Shape>{"q", {2, 4, 5, 16}},
                               {"k", {2, 2, 7, 16}}, {"v", {2, 2, 7, 8}}}) {
      std::vector<float> x(size_t(numElements(shape)));
      for (size_t e = 0; e < x.size(); ++e)
        x[e] = std::sin(0.37f * float(e) + float(name[0]));
      feeds.push_back({name, Tensor::fromVector(DType::F32, shape, x)});
    }
    if (f == "padded") {
      onnx::ValueInfoProto *lens = g->add_input();
      lens->set_name("lens");
      lens->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
      lens->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
      in.insert(in.end(), {"", "", "lens"});
      // batch 0 sees 6 of 7 keys (the mask covers 4 of them), batch 1 the first 2
      feeds.push_back({"lens", Tensor::fromVector(DType::I64, {2}, std::vector<int64_t>{6, 2})});
    }
    onnx::NodeProto *n = node(g, "Attention", "sdpa", in, "y");
    floatValue(g->add_output(), "y");
    if (f == "qk") {
      for (const char *o : {"", "", "qk"})
        n->add_output(o);
      floatValue(g->add_output(), "qk");
      intAttrOf(n, "is_causal", 1);
      intAttrOf(n, "qk_matmul_output_mode", 2);
      floatAttrOf(n, "softcap", 2.0f);
    }
    std::string tag = "sdpa24_" + f;
    std::string model = saveModel(m, tag + ".onnx");
    std::string npz = testing_util::scratchPath(tag + ".npz");
    writeNpz(npz, feeds);
    for (const char *dtype : {"f32", "f16"}) {
      KeptPlan k = runKept(model, npz, dtype, keepNone, tag + "_" + dtype);
      // stepsOfStyle fails the test for any host step
      EXPECT_EQ(stepsOfStyle(k.compiled.plan, "attention"), f == "padded" ? 1 : 0) << tag << " " << dtype;
      ASSERT_EQ(k.got.size(), f == "qk" ? 2u : 1u);
      expectClose(k, dtype);
    }
  }
}
