// The GeneratedOp cases about numbers rather than movement (part of cuda_emulated_test's
// table, run by cuda_emulated_generated_ops.cpp): reductions over rows of no elements,
// integer bit ops, OneHot, the integer products (MatMulInteger, QLinearMatMul, ConvInteger,
// QLinearConv), non-finite values through the elementwise, row and window rules and casts to
// integers, and MaxPool's NaN handling and Indices.
#include "tests/mlir/GeneratedOpCase.h"

#include "tests/TestAttrs.h"

#include <cmath>
#include <cstdlib>

namespace plumb::cudatest {

std::vector<OpCase> numericOpCases() {
  using namespace testattrs;
  std::vector<OpCase> v;
  auto add = [&](std::string name, std::string op, std::vector<Tensor> data,
                 std::vector<std::pair<size_t, Tensor>> consts = {},
                 std::vector<std::pair<std::string, ref::AttrValue>> attrs = {}, size_t outs = 1) {
    v.push_back(opCase(std::move(name), std::move(op), std::move(data), std::move(consts), attrs,
                       outs));
  };
  {
    // Rows of no elements (a reduced axis of size 0): each reduction's identity (0, 1, -inf,
    // +inf; ReduceMean 0 / 0 and ReduceLogSumExp log 0), the kernel writing per-row results
    // it has no elements to compute from.
    Tensor empty = iota(DType::F32, {2, 3, 0});
    v.push_back(OpCase{"reducesum_empty_rows", "ReduceSum", {empty}, {{1, ints({-1})}}, {}, 1, 13});
    for (const char *op : {"ReduceMax", "ReduceMin", "ReduceProd", "ReduceMean", "ReduceLogSumExp"})
      add(std::string(op) + "_empty_rows", op, {empty}, {}, {{"axes", intsAttr({2})}});
  }
  {
    // Bool rows (opset 20): ReduceMax is any, ReduceMin all, over rows of 70 (more than a
    // warp): all false, one true at the end, all true but one, all true. NVRTC refused these
    // kernels (the warp shuffles have no bool form), and each ran on the host.
    std::vector<uint8_t> bits(4 * 70, 0);
    bits[69 + 70] = 1;
    for (size_t e = 140; e < 280; ++e)
      bits[e] = e != 175;
    Tensor rows = Tensor::copyOf(DType::Bool, {4, 70}, bits.data());
    v.push_back(OpCase{"reducemax_bool_rows", "ReduceMax", {rows}, {{1, ints({1})}}, {}, 1, 20});
    v.push_back(OpCase{"reducemin_bool_rows", "ReduceMin", {rows}, {{1, ints({-1})}}, {}, 1, 20});
  }
  {
    // Integer bit ops: shifts by the width or more (0, as in the reference), a uint64 with
    // its top bit set shifted right (zeros come in), the narrower types truncating.
    auto typed = [](DType t, Shape s, std::vector<int64_t> v) {
      return Tensor::fromVector(DType::I64, s, v).cast(t);
    };
    Tensor bytes = typed(DType::U8, {2, 4}, {1, 3, 200, 255, 16, 128, 7, 0});
    Tensor shifts = typed(DType::U8, {2, 4}, {0, 1, 3, 7, 8, 9, 2, 1});
    add("bitshift_left_u8", "BitShift", {bytes, shifts}, {}, {{"direction", stringAttr("LEFT")}});
    add("bitshift_right_u8", "BitShift", {bytes, shifts}, {}, {{"direction", stringAttr("RIGHT")}});
    Tensor wide64 = typed(DType::U64, {4}, {-2, 1, int64_t(1) << 40, -1});
    Tensor by64 = typed(DType::U64, {4}, {1, 63, 64, 70});
    add("bitshift_right_u64_top_bit", "BitShift", {wide64, by64}, {}, {{"direction", stringAttr("RIGHT")}});
    add("bitshift_left_u64", "BitShift", {wide64, by64}, {}, {{"direction", stringAttr("LEFT")}});
    Tensor a = typed(DType::I32, {2, 3}, {5, -6, 0x7fffffff, -1, 12, 0});
    Tensor b = typed(DType::I32, {3}, {3, -2, 0x0f0f0f0f});
    add("bitwiseand_i32_broadcast", "BitwiseAnd", {a, b});
    add("bitwiseor_i32_broadcast", "BitwiseOr", {a, b});
    add("bitwisexor_i32_broadcast", "BitwiseXor", {a, b});
    add("bitwisenot_u16", "BitwiseNot", {typed(DType::U16, {4}, {0, 1, 0x8000, 0xffff})});
    add("bitwisenot_i8", "BitwiseNot", {typed(DType::I8, {3}, {0, -128, 127})});
  }
  {
    // OneHot: negative indices (from the end), indices outside [-depth, depth) (an all-off
    // line), float indices (truncated), a float depth, the axis first, last and between.
    Tensor idx = Tensor::fromVector(DType::I64, {2, 3}, std::vector<int64_t>{0, 4, -1, -5, 5, 2});
    Tensor onOff = Tensor::fromVector(DType::F64, {2}, std::vector<double>{-0.5, 3.25}).cast(DType::F32);
    for (int64_t axis : {-1, 0, 1}) {
      std::string name = "onehot_axis" + std::string(axis < 0 ? "_minus" : "") +
                         std::to_string(std::abs(axis));
      OpCase c{name, "OneHot", {idx, onOff}, {{1, ints({5})}}, {}, 1, 11};
      c.attrs.set("axis", intAttr(axis));
      v.push_back(c);
    }
    Tensor fidx = Tensor::fromVector(DType::F64, {4}, std::vector<double>{1.7, -1.2, 2.9, 0}).cast(DType::F32);
    v.push_back(OpCase{"onehot_float_indices_f16_values", "OneHot", {fidx, onOff.cast(DType::F16)},
                       {{1, Tensor::fromVector(DType::F64, {1}, std::vector<double>{3}).cast(DType::F32)}},
                       {}, 1, 11});
    // Non-finite float indices read as the reference reads them: NaN as 0 (hot at 0), 1e30
    // and -inf saturated to int64's bounds (all off); a bare C cast is undefined there.
    Tensor nidx = Tensor::fromVector(DType::F32, {4},
                                     std::vector<float>{NAN, 1e30f, -INFINITY, 2.5f});
    v.push_back(OpCase{"onehot_nonfinite_float_indices", "OneHot", {nidx, onOff},
                       {{1, ints({3})}}, {}, 1, 11});
  }
  {
    // ReverseSequence: time along dim 0 (lengths in int64: all, none, part) and along dim 1
    // (int32 lengths) with an inner dim; lengths given at run time.
    Tensor x = Tensor::fromVector(DType::F64, {4, 3, 2}, [] {
                 std::vector<double> v(24);
                 for (size_t e = 0; e < v.size(); ++e)
                   v[e] = double(e) * 0.5 - 3;
                 return v;
               }()).cast(DType::F32);
    add("reversesequence_time_axis0", "ReverseSequence",
        {x, Tensor::fromVector(DType::I64, {3}, std::vector<int64_t>{4, 0, 2})}, {},
        {{"time_axis", intAttr(0)}, {"batch_axis", intAttr(1)}});
    add("reversesequence_batch_axis0_i32", "ReverseSequence",
        {x, Tensor::fromVector(DType::I32, {4}, std::vector<int32_t>{3, 1, 2, 0})}, {},
        {{"time_axis", intAttr(1)}, {"batch_axis", intAttr(0)}});
  }
  {
    // TensorScatter (opset 24, a KV cache's update): linear writes at run-time write_indices
    // along the default axis -2 (f32 and f16), circular writes wrapping past the end and from
    // a negative index, and no write_indices (from 0) along axis 1 of a 3-D cache.
    Tensor cache = iota(DType::F32, {2, 2, 6, 3});
    Tensor update = Tensor::fromVector(DType::F64, {2, 2, 2, 3}, [] {
                      std::vector<double> v(24);
                      for (size_t e = 0; e < v.size(); ++e)
                        v[e] = 100 + double(e);
                      return v;
                    }()).cast(DType::F32);
    auto at = [](std::vector<int64_t> v) { return Tensor::fromVector(DType::I64, {2}, v); };
    v.push_back(OpCase{"tensorscatter_linear", "TensorScatter", {cache, update, at({1, 4})}, {}, {}, 1, 24});
    v.push_back(OpCase{"tensorscatter_linear_f16", "TensorScatter",
                       {cache.cast(DType::F16), update.cast(DType::F16), at({4, 0})}, {}, {}, 1, 24});
    OpCase circular{"tensorscatter_circular", "TensorScatter", {cache, update, at({5, -1})}, {}, {}, 1, 24};
    circular.attrs.set("mode", stringAttr("circular"));
    v.push_back(circular);
    OpCase fromZero{"tensorscatter_axis1_from_zero", "TensorScatter",
                    {iota(DType::F32, {2, 5, 4}), update.reshaped({2, 3, 4})}, {}, {}, 1, 24};
    fromZero.attrs.set("axis", intAttr(1));
    v.push_back(fromZero);
  }
  {
    // Col2Im: overlapping 3x2 blocks with dilation 2 along H, stride 2 along W and asymmetric
    // pads (windows partly outside the image), f32 and f16; a 3-D image of 2x2x2 blocks.
    std::vector<std::pair<std::string, ref::AttrValue>> attrs = {
        {"dilations", intsAttr({2, 1})}, {"strides", intsAttr({1, 2})}, {"pads", intsAttr({1, 0, 2, 1})}};
    // image 5x6: grid H (5 + 3 - 5) / 1 + 1 = 4, W (6 + 1 - 2) / 2 + 1 = 3: 12 columns
    Tensor cols = iota(DType::F32, {2, 2 * 6, 12});
    add("col2im_dilated_strided_padded", "Col2Im", {cols}, {{1, ints({5, 6})}, {2, ints({3, 2})}}, attrs);
    add("col2im_f16", "Col2Im", {cols.cast(DType::F16)}, {{1, ints({5, 6})}, {2, ints({3, 2})}}, attrs);
    add("col2im_3d", "Col2Im", {iota(DType::F32, {1, 3 * 8, 27})}, {{1, ints({4, 4, 4})}, {2, ints({2, 2, 2})}});
  }
  {
    // Det: a batch of 3x3 matrices (a row swap, a singular one: 0), and a 2x2 in f16.
    Tensor m = Tensor::fromVector(DType::F64, {2, 2, 3, 3},
                                  std::vector<double>{0, 2, 1, 3, -1, 4, 2, 5, -2,  // pivots swap
                                                      1, 2, 3, 2, 4, 6, 0, 1, 5,    // singular
                                                      4, 1, 0, 1, 3, 1, 0, 1, 2,    // no swap
                                                      -1, 0.5, 2, 3, 3, -3, 0.25, 1, 1})
                   .cast(DType::F32);
    add("det_batched_3x3", "Det", {m});
    add("det_2x2_f16", "Det", {iota(DType::F16, {4, 2, 2})});
  }
  {
    // RoiAlign: boxes (one partly outside the image, one degenerate) at run time over two
    // batch items; adaptive sampling (ratio 0) in half_pixel, max mode with ratio 2, f16, and
    // opset 10's output_half_pixel (boxes at least a pixel).
    Tensor img = iota(DType::F32, {2, 3, 6, 7});
    Tensor boxes = Tensor::fromVector(DType::F64, {3, 4}, std::vector<double>{0.5, 1, 5.5, 4.2, -2, -1, 3, 8,
                                                                           2, 2, 2.3, 2.1})
                       .cast(DType::F32);
    Tensor which = Tensor::fromVector(DType::I64, {3}, std::vector<int64_t>{1, 0, 1});
    auto roi = [&](std::string name, std::vector<Tensor> data, std::vector<std::pair<std::string, ref::AttrValue>> attrs,
                   int64_t opset) {
      OpCase c = cudatest::opCase(std::move(name), "RoiAlign", std::move(data), {}, attrs);
      c.opset = opset;
      v.push_back(c);
    };
    roi("roialign_adaptive", {img, boxes, which}, {{"output_height", intAttr(3)}, {"output_width", intAttr(2)},
                                                   {"spatial_scale", floatAttr(0.75)}}, 16);
    roi("roialign_max_f16", {img.cast(DType::F16), boxes.cast(DType::F16), which},
        {{"mode", stringAttr("max")}, {"sampling_ratio", intAttr(2)}, {"output_height", intAttr(2)},
         {"output_width", intAttr(2)}}, 16);
    roi("roialign_opset10_output_half_pixel", {img, boxes, which},
        {{"output_height", intAttr(2)}, {"output_width", intAttr(3)}, {"sampling_ratio", intAttr(1)}}, 10);
  }
  {
    // DeformConv: two groups and two offset groups, a bias and a mask, stride, dilation and
    // asymmetric pads; fractional offsets, some taps moved off the image (zeros); f32 and f16.
    auto wave = [](Shape shape, double f, double amp) {
      std::vector<double> v(size_t(numElements(shape)));
      for (size_t e = 0; e < v.size(); ++e)
        v[e] = amp * std::sin(f * double(e) + 0.3);
      return Tensor::fromVector(DType::F64, shape, v).cast(DType::F32);
    };
    std::vector<Tensor> data = {iota(DType::F32, {1, 4, 5, 6}), wave({4, 2, 2, 2}, 0.7, 1.0),
                                wave({1, 16, 4, 3}, 0.37, 1.6), wave({4}, 1.3, 0.5), wave({1, 8, 4, 3}, 0.21, 1.0)};
    std::vector<std::pair<std::string, ref::AttrValue>> attrs = {
        {"group", intAttr(2)}, {"offset_group", intAttr(2)}, {"strides", intsAttr({1, 2})},
        {"pads", intsAttr({1, 0, 0, 1})}, {"dilations", intsAttr({2, 1})}, {"kernel_shape", intsAttr({2, 2})}};
    OpCase f32 = cudatest::opCase("deformconv_groups_mask_bias", "DeformConv", data, {}, attrs);
    f32.opset = 19;
    v.push_back(f32);
    for (Tensor &t : data)
      t = t.cast(DType::F16);
    OpCase f16 = cudatest::opCase("deformconv_f16", "DeformConv", data, {}, attrs);
    f16.opset = 19;
    v.push_back(f16);
  }
  {
    // MatMulInteger: uint8 a with a zero point per row, int8 b with one per column, a batch
    // of a against one b; per-tensor zero points; none. QLinearMatMul: uint8 and int8 results
    // (values past the range saturate), scales per tensor and per column of b.
    auto typed = [](DType t, Shape s, int64_t seed) {
      std::vector<int64_t> v(size_t(numElements(s)));
      for (size_t i = 0; i < v.size(); ++i)
        v[i] = int64_t((i * 37 + size_t(seed) * 11) % 256) - (t == DType::I8 ? 128 : 0);
      return Tensor::fromVector(DType::I64, s, v).cast(t);
    };
    Tensor a = typed(DType::U8, {2, 3, 5}, 1), b = typed(DType::I8, {5, 4}, 2);
    v.push_back(OpCase{"matmulinteger_row_and_column_zero_points", "MatMulInteger",
                       {a, b, typed(DType::U8, {3}, 3), typed(DType::I8, {4}, 4)}, {}, {}, 1, 10});
    v.push_back(OpCase{"matmulinteger_tensor_zero_points", "MatMulInteger",
                       {a, b, typed(DType::U8, {}, 5), typed(DType::I8, {}, 6)}, {}, {}, 1, 10});
    v.push_back(OpCase{"matmulinteger_no_zero_points", "MatMulInteger",
                       {typed(DType::I8, {3, 5}, 7), b}, {}, {}, 1, 10});
    auto scale = [](Shape s, double first) {
      std::vector<double> v(size_t(numElements(s)));
      for (size_t i = 0; i < v.size(); ++i)
        v[i] = first * (1.0 + 0.25 * double(i));
      return Tensor::fromVector(DType::F64, s, v).cast(DType::F32);
    };
    // ConvInteger and QLinearConv: two groups with strides, pads and a dilation, zero points
    // and scales per output channel and per tensor, an int32 bias, SAME_UPPER in 1-D.
    Tensor img = typed(DType::U8, {1, 4, 6, 7}, 11), kern = typed(DType::I8, {6, 2, 3, 2}, 12);
    OpCase conv{"convinteger_groups_strides_pads", "ConvInteger",
                {img, kern, typed(DType::U8, {}, 13), typed(DType::I8, {6}, 14)}, {}, {}, 1, 10};
    conv.attrs.set("group", intAttr(2));
    conv.attrs.set("strides", intsAttr({2, 1}));
    conv.attrs.set("pads", intsAttr({1, 0, 1, 2}));
    conv.attrs.set("dilations", intsAttr({1, 2}));
    v.push_back(conv);
    OpCase same{"convinteger_1d_same_upper", "ConvInteger",
                {typed(DType::I8, {2, 3, 9}, 15), typed(DType::I8, {4, 3, 4}, 16)}, {}, {}, 1, 10};
    same.attrs.set("auto_pad", stringAttr("SAME_UPPER"));
    same.attrs.set("strides", intsAttr({2}));
    v.push_back(same);
    for (DType yt : {DType::U8, DType::I8}) {
      bool perChannel = yt == DType::I8;
      OpCase qc{std::string("qlinearconv_") + (perChannel ? "i8_per_channel" : "u8_per_tensor"),
                "QLinearConv",
                {img, scale({}, 0.02), typed(DType::U8, {}, 17), kern,
                 scale(perChannel ? Shape{6} : Shape{}, 0.01),
                 typed(DType::I8, perChannel ? Shape{6} : Shape{}, 18), scale({}, 0.03),
                 typed(yt, {}, 19),
                 Tensor::fromVector(DType::I64, {6}, std::vector<int64_t>{-900, 0, 45, 3000, -7, 12})
                     .cast(DType::I32)},
                {}, {}, 1, 10};
      qc.attrs.set("group", intAttr(2));
      qc.attrs.set("pads", intsAttr({1, 1, 1, 1}));
      v.push_back(qc);
    }
    for (DType yt : {DType::U8, DType::I8})
      for (bool perColumn : {false, true}) {
        std::string name = std::string("qlinearmatmul_") + (yt == DType::U8 ? "u8" : "i8") +
                           (perColumn ? "_per_column" : "_per_tensor");
        v.push_back(OpCase{name, "QLinearMatMul",
                           {a, scale({}, 0.02), typed(DType::U8, {}, 8), b,
                            scale(perColumn ? Shape{4} : Shape{}, 0.01),
                            typed(DType::I8, perColumn ? Shape{4} : Shape{}, 9),
                            scale({}, 0.05), typed(yt, {}, 10)},
                           {}, {}, 1, 10});
      }
  }
  {
    // Non-finite values and signed zeros through the elementwise rules, against the
    // reference bit for bit where it is exact: NaN on either side of a binary op, -inf/inf,
    // -0. Casts from float to integers as the reference casts them: NaN 0, past the range
    // its bound (a bare C cast gave 0 for -inf to int32).
    std::vector<double> xv = {NAN, -INFINITY, INFINITY, -1.5, 0.0, -0.0, 2.5, 1.0, -7.25,
                              NAN, 0.5, -0.5, 3e9, -3e9, 300.0, -1e20, 2e19, 1e19};
    std::vector<double> yv = {1.0, NAN, -2.0, NAN, -0.0, 0.0, INFINITY, NAN, -INFINITY,
                              3.0, NAN, 0.5, 1.0, 2.0, -1.0, 0.25, 4.0, -3.0};
    Tensor nx = Tensor::fromVector(DType::F64, {18}, xv).cast(DType::F32);
    Tensor ny = Tensor::fromVector(DType::F64, {18}, yv).cast(DType::F32);
    for (const char *op : {"Max", "Min", "Mod", "Pow", "PRelu", "Sum", "Mean", "Div", "Equal",
                           "Less", "Greater"}) {
      OpCase c{std::string("nonfinite_") + op, op, {nx, ny}, {}, {}, 1, 13};
      if (std::string(op) == "Mod")
        c.attrs.set("fmod", intAttr(1));
      v.push_back(c);
    }
    for (const char *op : {"Relu", "LeakyRelu", "Sign", "Abs", "Sigmoid", "Softplus",
                           "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu", "ThresholdedRelu",
                           "Shrink", "Round", "Floor", "Ceil", "Erf", "Gelu", "Mish", "Softsign",
                           "IsNaN", "IsInf", "Reciprocal", "Tanh", "Exp", "Log", "Sqrt"})
      v.push_back(OpCase{std::string("nonfinite_") + op, op, {nx}, {}, {}, 1, 20});
    v.push_back(OpCase{"nonfinite_Clip", "Clip",
                       {nx, Tensor::scalarF32(-1.0f), Tensor::scalarF32(1.0f)}, {}, {}, 1, 13});
    // Rows with non-finite values through the row and window kernels: all -inf, a +inf, a
    // NaN, -inf next to finite values. (ReduceL2, ReduceSumSquare and Hardmax reach the
    // generator as the ops plumb-reductions-as-rows rewrites them into.)
    std::vector<double> rv = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, 1.0, INFINITY, 2.0, 3.0,
                              0.0, NAN, 1.0, 2.0, -INFINITY, 1.0, 2.0, -1.0, 0.5, -0.5, 2.0, 1.5};
    Tensor rows5 = Tensor::fromVector(DType::F64, {5, 4}, rv).cast(DType::F32);
    for (const char *op : {"Softmax", "LogSoftmax", "ReduceMax", "ReduceMin", "ReduceSum",
                           "ReduceMean", "ReduceProd", "ReduceLogSumExp", "ArgMax", "ArgMin"}) {
      OpCase c{std::string("nonfinite_rows_") + op, op, {rows5}, {}, {}, 1, 17};
      if (std::string(op).rfind("Reduce", 0) == 0)
        c.attrs.set("axes", intsAttr({1}));
      else
        c.attrs.set("axis", intAttr(op[0] == 'A' ? 1 : -1));
      v.push_back(c);
    }
    OpCase cum{"nonfinite_rows_CumSum", "CumSum", {rows5}, {{1, ints({1})}}, {}, 1, 17};
    v.push_back(cum);
    OpCase topk{"nonfinite_rows_TopK", "TopK", {rows5}, {{1, ints({2})}}, {}, 2, 17};
    v.push_back(topk);
    OpCase ln{"nonfinite_rows_LayerNormalization", "LayerNormalization",
              {rows5, iota(DType::F32, {4}), iota(DType::F32, {4})}, {}, {}, 1, 17};
    v.push_back(ln);
    for (DType to : {DType::I8, DType::U8, DType::I32, DType::U32, DType::I64, DType::U64}) {
      OpCase c{std::string("nonfinite_cast_to_") + dtypeName(to), "Cast", {nx}, {}, {}, 1, 13};
      c.attrs.set("to", intAttr(dtypeToOnnx(to)));
      v.push_back(c);
    }
  }
  {
    // TfIdfVectorizer (a window kernel; it ran on the host), beyond ONNX's cases (TF mode,
    // int32 rows only): IDF and TFIDF with weights, int64 rows and a 1-D input, skips up to 2,
    // a pool with unigrams below min_gram_length (not counted), an n-gram pooled twice (the
    // later column wins) and columns no n-gram maps to (0).
    Tensor rows = Tensor::fromVector(DType::I64, {3, 9},
                                     std::vector<int64_t>{2, 3, 5, 4, 5, 2, 3, 5, 4, 7, 7, 2, 7, 3, 5,
                                                          4, 2, 2, 5, 4, 5, 4, 3, 2, 3, 5, 6});
    // unigrams 2, 3, 5; bigrams (5, 4), (2, 3), (3, 5), (5, 4) again; trigram (2, 3, 5)
    std::vector<int64_t> pool = {2, 3, 5, 5, 4, 2, 3, 3, 5, 5, 4, 2, 3, 5};
    for (const char *mode : {"TF", "IDF", "TFIDF"})
      for (int64_t minN : {1, 2}) {
        OpCase c{std::string("tfidf_") + mode + "_min" + std::to_string(minN), "TfIdfVectorizer",
                 {rows}, {}, {}, 1, 9};
        c.attrs.set("mode", stringAttr(mode));
        c.attrs.set("min_gram_length", intAttr(minN));
        c.attrs.set("max_gram_length", intAttr(3));
        c.attrs.set("max_skip_count", intAttr(2));
        c.attrs.set("ngram_counts", intsAttr({0, 3, 11}));
        c.attrs.set("ngram_indexes", intsAttr({0, 1, 2, 3, 4, 5, 6, 8}));
        c.attrs.set("pool_int64s", intsAttr(pool));
        if (std::string(mode) != "TF")
          c.attrs.set("weights", floatsAttr({0.5, 1.25, 2, 0.1, 3, 1, 0.75, 9, 1.5}));
        v.push_back(c);
      }
    OpCase flat{"tfidf_1d_int32_bigrams", "TfIdfVectorizer",
                {rows.reshaped({27}).cast(DType::I32)}, {}, {}, 1, 9};
    flat.attrs.set("mode", stringAttr("TFIDF"));
    flat.attrs.set("min_gram_length", intAttr(2));
    flat.attrs.set("max_gram_length", intAttr(2));
    flat.attrs.set("max_skip_count", intAttr(1));
    flat.attrs.set("ngram_counts", intsAttr({0, 0}));
    flat.attrs.set("ngram_indexes", intsAttr({1, 0}));
    flat.attrs.set("pool_int64s", intsAttr({5, 4, 2, 3}));
    flat.attrs.set("weights", floatsAttr({0.3, 0.7}));
    v.push_back(flat);
  }
  {
    // NaN as the reference (and ONNX Runtime's MaxPool, and oneDNN) treat it: MaxPool and
    // GlobalMaxPool skip NaN taps (a window of NaN only gives the type's lowest value).
    // Indices (flat over N×C×spatial; storage_order 1: the spatial part column-major) with
    // the first maximum on ties, for f32 and f16, 2-D and 3-D.
    std::vector<double> v(2 * 2 * 4 * 4);
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = double((i * 7) % 5) - 2; // ties in most windows
    for (size_t i : {0, 1, 4, 5, 18, 37})
      v[i] = NAN; // the first 2x2 window all NaN
    Tensor withNan = Tensor::fromVector(DType::F64, {2, 2, 4, 4}, v).cast(DType::F32);
    for (DType dt : {DType::F32, DType::F16})
      for (int64_t order : {0, 1}) {
        std::string name = std::string("maxpool_nan_indices_") + (dt == DType::F32 ? "f32" : "f16") +
                           "_order" + std::to_string(order);
        add(name, "MaxPool", {withNan.cast(dt)}, {},
            {{"kernel_shape", intsAttr({2, 2})}, {"strides", intsAttr({2, 1})},
             {"pads", intsAttr({0, 1, 1, 0})}, {"storage_order", intAttr(order)}},
            2);
      }
    add("maxpool_3d_indices", "MaxPool", {iota(DType::F32, {1, 2, 3, 4, 3})}, {},
        {{"kernel_shape", intsAttr({2, 2, 2})}, {"pads", intsAttr({1, 0, 1, 0, 1, 0})}}, 2);
    add("global_maxpool_nan", "GlobalMaxPool", {withNan});
  }
  return v;
}

} // namespace plumb::cudatest
