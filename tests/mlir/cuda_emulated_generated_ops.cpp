// Each movement, window and row op as one generated kernel, compiled by NVRTC and run on the
// CUDA plan emulator against its reference kernel (part of cuda_emulated_test): the one-op
// case table (opCases, with numericOpCases from cuda_emulated_numeric_ops.cpp). Index checks
// and the small-float casts: cuda_emulated_generated_checks.cpp.
#include "tests/mlir/GeneratedPlan.h"

#include "backends/reference/Kernel.h"
#include "tests/TestAttrs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace plumb {
namespace {

using cudatest::ints;
using cudatest::iota;
using cudatest::OpCase;
using cudatest::opsetOf;
using cudatest::runGenerated;

std::vector<OpCase> opCases() {
  using namespace testattrs;
  std::vector<OpCase> v;
  auto add = [&](std::string name, std::string op, std::vector<Tensor> data,
                 std::vector<std::pair<size_t, Tensor>> consts = {},
                 std::vector<std::pair<std::string, ref::AttrValue>> attrs = {}, size_t outs = 1) {
    v.push_back(cudatest::opCase(std::move(name), std::move(op), std::move(data),
                                 std::move(consts), attrs, outs));
  };
  Tensor x = iota(DType::F32, {2, 3, 4, 5});
  add("transpose_0231", "Transpose", {x}, {}, {{"perm", intsAttr({0, 2, 3, 1})}});
  add("transpose_default", "Transpose", {x});
  add("transpose_f16", "Transpose", {x.cast(DType::F16)}, {}, {{"perm", intsAttr({3, 1, 0, 2})}});
  add("slice_steps", "Slice", {x}, {{1, ints({1, -1})}, {2, ints({3, 0})}, {3, ints({1, 3})},
                                    {4, ints({1, -2})}});
  add("slice_clamped", "Slice", {x}, {{1, ints({-100, 2})}, {2, ints({100, 4})}, {3, ints({-1, 2})}});
  add("concat_axis1", "Concat", {x, iota(DType::F32, {2, 1, 4, 5}), iota(DType::F32, {2, 2, 4, 5})},
      {}, {{"axis", intAttr(1)}});
  add("concat_last_i64", "Concat", {ints({1, 2, 3}), ints({4}), ints({5, 6})}, {},
      {{"axis", intAttr(-1)}});
  Tensor idx = Tensor::fromVector(DType::I64, {2, 2}, std::vector<int64_t>{0, -1, 2, 1});
  add("gather_axis0_2d", "Gather", {iota(DType::F32, {5, 6}), idx});
  add("gather_axis2", "Gather", {x, idx}, {}, {{"axis", intAttr(2)}});
  add("gather_scalar_index", "Gather", {x, Tensor::scalarI64(-2)}, {}, {{"axis", intAttr(3)}});
  add("gatherelements_axis1_negative", "GatherElements",
      {iota(DType::F32, {3, 4}), Tensor::fromVector(DType::I64, {3, 2}, std::vector<int64_t>{0, -1, 3, 2, -4, 1})},
      {}, {{"axis", intAttr(1)}});
  {
    std::vector<int64_t> rowsOf(24);
    for (size_t i = 0; i < rowsOf.size(); ++i)
      rowsOf[i] = int64_t(i * 7 % 4) - 2; // -2..1 over a dim of 2
    add("gatherelements_axis0_i32", "GatherElements",
        {x, Tensor::fromVector(DType::I64, {1, 3, 4, 2}, rowsOf).cast(DType::I32)});
  }
  add("gathernd_elements", "GatherND",
      {iota(DType::F32, {3, 4}), Tensor::fromVector(DType::I64, {2, 2, 2}, std::vector<int64_t>{0, 0, 2, -1, 1, 3, -3, 2})});
  add("gathernd_rows", "GatherND", {x, Tensor::fromVector(DType::I64, {3, 1}, std::vector<int64_t>{1, 0, -1})});
  add("gathernd_batch_dims", "GatherND",
      {x, Tensor::fromVector(DType::I64, {2, 2, 2}, std::vector<int64_t>{0, 1, 2, 3, 1, 0, 0, 3})},
      {}, {{"batch_dims", intAttr(1)}});
  add("expand_rank_up", "Expand", {iota(DType::F32, {3, 1})}, {{1, ints({2, 3, 4})}});
  add("tile", "Tile", {iota(DType::F32, {2, 3})}, {{1, ints({2, 3})}});
  add("split_axis1", "Split", {x}, {{1, ints({1, 2})}}, {{"axis", intAttr(1)}}, 2);
  add("split_last_three", "Split", {x}, {}, {{"axis", intAttr(-1)}, {"num_outputs", intAttr(3)}}, 3);
  Tensor pads = ints({0, 1, 2, 0, 0, 2, 1, 3});
  add("pad_constant_default", "Pad", {x}, {{1, pads}});
  add("pad_constant_value", "Pad", {x, Tensor::scalarF32(7.5f)}, {{1, pads}});
  add("pad_edge", "Pad", {x}, {{1, pads}}, {{"mode", stringAttr("edge")}});
  add("pad_reflect", "Pad", {x}, {{1, pads}}, {{"mode", stringAttr("reflect")}});
  { // wrap (opset 19), by more than the dim on two axes
    OpCase c{"pad_wrap_past_the_dim", "Pad", {x}, {{1, ints({0, 4, 2, 0, 0, 2, 1, 7})}}, {}, 1, 19};
    c.attrs.set("mode", stringAttr("wrap"));
    v.push_back(c);
  }
  Tensor img = iota(DType::F32, {2, 3, 7, 6});
  add("maxpool_pad_stride_dilation", "MaxPool", {img}, {},
      {{"kernel_shape", intsAttr({3, 2})}, {"strides", intsAttr({2, 1})},
       {"pads", intsAttr({1, 0, 1, 1})}, {"dilations", intsAttr({1, 2})}});
  add("averagepool_exclude_pad", "AveragePool", {img}, {},
      {{"kernel_shape", intsAttr({3, 3})}, {"strides", intsAttr({2, 2})},
       {"pads", intsAttr({1, 1, 1, 1})}});
  add("averagepool_include_pad_ceil", "AveragePool", {img}, {},
      {{"kernel_shape", intsAttr({3, 3})}, {"strides", intsAttr({2, 2})},
       {"pads", intsAttr({1, 1, 1, 1})}, {"count_include_pad", intAttr(1)},
       {"ceil_mode", intAttr(1)}});
  add("averagepool_same_upper", "AveragePool", {img}, {},
      {{"kernel_shape", intsAttr({2, 3})}, {"auto_pad", stringAttr("SAME_UPPER")}});
  {
    // LpPool: signed values (|x| matters for odd p), p 2 with pads and strides, 1 with
    // ceil_mode, 3 (pow) with dilations; GlobalLpPool with p 3
    std::vector<double> w(size_t(numElements(img.shape())));
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = 2 * std::sin(0.61 * double(i));
    Tensor wave = Tensor::fromVector(DType::F64, img.shape(), w).cast(DType::F32);
    add("lppool_p2_pads_strides", "LpPool", {wave}, {},
        {{"kernel_shape", intsAttr({3, 2})}, {"strides", intsAttr({2, 1})},
         {"pads", intsAttr({1, 0, 1, 1})}});
    add("lppool_p1_ceil", "LpPool", {wave}, {},
        {{"kernel_shape", intsAttr({3, 3})}, {"strides", intsAttr({2, 2})}, {"p", intAttr(1)},
         {"ceil_mode", intAttr(1)}});
    add("lppool_p3_dilations", "LpPool", {wave}, {},
        {{"kernel_shape", intsAttr({2, 2})}, {"dilations", intsAttr({2, 3})}, {"p", intAttr(3)}});
    add("global_lppool_p3", "GlobalLpPool", {wave}, {}, {{"p", intAttr(3)}});
  }
  add("global_averagepool", "GlobalAveragePool", {img});
  add("global_maxpool_1d", "GlobalMaxPool", {iota(DType::F32, {2, 3, 5})});
  add("cumsum_axis2", "CumSum", {x}, {{1, ints({2})}});
  add("cumsum_exclusive_reverse", "CumSum", {x}, {{1, ints({-1})}},
      {{"exclusive", intAttr(1)}, {"reverse", intAttr(1)}});
  add("cumsum_i64", "CumSum", {ints({3, -1, 4, 1, -5})}, {{1, ints({0})}});
  add("einsum_matmul", "Einsum", {iota(DType::F32, {3, 4}), iota(DType::F32, {4, 5})}, {},
      {{"equation", stringAttr("ij,jk->ik")}});
  add("einsum_three_operands", "Einsum",
      {iota(DType::F32, {2, 3, 4}), iota(DType::F32, {2, 4}), iota(DType::F32, {2, 3, 5})}, {},
      {{"equation", stringAttr("bcl, bl ,bcp->bpl")}});
  add("einsum_implicit_diagonal", "Einsum", {iota(DType::F32, {4, 4, 3})}, {},
      {{"equation", stringAttr("iij")}});
  // "..." for the dims beyond the letters, right-aligned across operands: a batched
  // diagonal, an implicit output (the ellipsis dims first), an ellipsis in the middle, an
  // operand without one.
  add("einsum_ellipsis_diagonal", "Einsum", {iota(DType::F32, {2, 3, 4, 4})}, {},
      {{"equation", stringAttr("...ii ->...i")}});
  add("einsum_ellipsis_implicit", "Einsum", {iota(DType::F32, {2, 3, 4}), iota(DType::F32, {2, 4, 5})},
      {}, {{"equation", stringAttr("...ij,...jk")}});
  add("einsum_ellipsis_middle", "Einsum", {iota(DType::F32, {2, 3, 4, 5}), iota(DType::F32, {5})}, {},
      {{"equation", stringAttr("b...d,d->b...")}});
  add("einsum_ellipsis_one_side", "Einsum", {iota(DType::F32, {2, 3, 4}), iota(DType::F32, {4, 5})},
      {}, {{"equation", stringAttr("...ij,jk->...ik")}});
  add("einsum_ellipsis_right_aligned", "Einsum",
      {iota(DType::F32, {2, 3, 4}), iota(DType::F32, {7, 2, 4, 5})}, {},
      {{"equation", stringAttr("...ij,...jk->...ik")}});
  Tensor scale = iota(DType::F32, {5}), bias = iota(DType::F32, {5}).cast(DType::F32);
  add("layernorm", "LayerNormalization", {x, scale, bias}, {},
      {{"axis", intAttr(-1)}, {"epsilon", floatAttr(1e-3)}});
  add("rmsnorm", "RMSNormalization", {x, scale}, {}, {{"epsilon", floatAttr(1e-6)}});
  // Rows of several trailing dims.
  add("layernorm_axis1", "LayerNormalization",
      {x, iota(DType::F32, {3, 4, 5}), iota(DType::F32, {3, 4, 5})}, {}, {{"axis", intAttr(1)}});
  add("rmsnorm_axis_minus2", "RMSNormalization", {x, iota(DType::F32, {4, 5})}, {},
      {{"axis", intAttr(-2)}});
  Tensor ch = iota(DType::F32, {3}), chb = iota(DType::F32, {3}).cast(DType::F32);
  add("instancenorm", "InstanceNormalization", {img, ch, chb}, {}, {{"epsilon", floatAttr(1e-4)}});
  add("instancenorm_1d_f16", "InstanceNormalization",
      {iota(DType::F16, {2, 3, 9}), ch.cast(DType::F16), chb.cast(DType::F16)});
  Tensor wide = iota(DType::F32, {2, 6, 5, 4});
  add("lrn_size3", "LRN", {x}, {}, {{"size", intAttr(3)}, {"alpha", floatAttr(0.02)}, {"beta", floatAttr(0.6)}, {"bias", floatAttr(2.0)}});
  add("lrn_size4_f16", "LRN", {img.cast(DType::F16)}, {}, {{"size", intAttr(4)}});
  add("shrink_soft", "Shrink", {x}, {}, {{"lambd", floatAttr(0.75)}, {"bias", floatAttr(0.5)}});
  add("shrink_hard_f16", "Shrink", {x.cast(DType::F16)}, {}, {{"lambd", floatAttr(1.5)}});
  add("swish_alpha", "Swish", {x}, {}, {{"alpha", floatAttr(0.7)}});
  add("swish_f16", "Swish", {x.cast(DType::F16)});
  add("reducemean_axes_attr", "ReduceMean", {wide}, {}, {{"axes", intsAttr({2, 3})}});
  add("reducemax_all", "ReduceMax", {wide});
  v.push_back(OpCase{"reducesum_axes_input", "ReduceSum", {wide}, {{1, ints({-1, -2})}}, {}, 1, 13});
  {
    // GridSample: grid points inside and outside [-1, 1] (every padding rule acts), one NaN,
    // each mode with each padding and both corner conventions; 3 spatial dims at opset 20.
    auto gridOf = [](Shape s) {
      std::vector<double> v(size_t(numElements(s)));
      for (size_t i = 0; i < v.size(); ++i)
        v[i] = std::sin(1.7 * double(i) + 0.2) * 1.35;
      v[5] = NAN;
      return Tensor::fromVector(DType::F64, s, v).cast(DType::F32);
    };
    Tensor plane = iota(DType::F32, {2, 3, 4, 5}), grid2 = gridOf({2, 3, 6, 2});
    int variant = 0;
    for (const char *mode : {"bilinear", "nearest", "bicubic"})
      for (const char *padding : {"zeros", "border", "reflection"}) {
        OpCase c{std::string("gridsample_") + mode + "_" + padding, "GridSample", {plane, grid2},
                 {}, {}, 1, 16};
        c.attrs.set("mode", stringAttr(mode));
        c.attrs.set("padding_mode", stringAttr(padding));
        c.attrs.set("align_corners", intAttr(variant++ % 2));
        v.push_back(c);
      }
    OpCase volume{"gridsample_3d_linear_opset20", "GridSample",
                  {iota(DType::F32, {1, 2, 3, 4, 5}), gridOf({1, 2, 3, 2, 3})}, {}, {}, 1, 20};
    volume.attrs.set("padding_mode", stringAttr("reflection"));
    v.push_back(volume);
  }
  {
    std::vector<double> near1(120);
    for (size_t i = 0; i < near1.size(); ++i) // products of 40 factors near 1 (one negative)
      near1[i] = i == 77 ? -1.5 : 1.0 + 0.01 * double(i % 7) - 0.03;
    add("reduceprod_rows", "ReduceProd", {Tensor::fromVector(DType::F64, {3, 40}, near1).cast(DType::F32)},
        {}, {{"axes", intsAttr({1})}});
  }
  {
    // Rows of all -inf (log 0 = -inf), one +inf (inf), one NaN (NaN), large values (shifted
    // by the row maximum, no overflow) and ordinary ones.
    const double inf = INFINITY;
    std::vector<double> rowsLse = {-inf, -inf, -inf, -inf, 1, inf, 2, 3,  0, NAN, 1, 2,
                                   500,  501,  499,  500,  1, 2,   3, -1};
    add("reducelogsumexp_rows", "ReduceLogSumExp",
        {Tensor::fromVector(DType::F64, {5, 4}, rowsLse).cast(DType::F32)}, {},
        {{"axes", intsAttr({1})}});
  }
  {
    OpCase c{"softmax_opset11_flattens", "Softmax", {x}, {}, {}, 1, 11};
    c.attrs.set("axis", intAttr(1));
    v.push_back(c);
  }
  // ArgMax/ArgMin: axes, keepdims, ties (select_last_index), NaN (the first wins), integers.
  Tensor ties = Tensor::fromVector(DType::F64, {3, 4}, std::vector<double>{1, 3, 3, 0, 2, 2, 2, 2, 5, NAN, 7, NAN})
                    .cast(DType::F32);
  add("argmax_axis0", "ArgMax", {x});
  add("argmin_last_dropped", "ArgMin", {x}, {}, {{"axis", intAttr(-1)}, {"keepdims", intAttr(0)}});
  add("argmax_ties_first_nan", "ArgMax", {ties}, {}, {{"axis", intAttr(1)}});
  add("argmax_ties_last", "ArgMax", {ties}, {},
      {{"axis", intAttr(1)}, {"select_last_index", intAttr(1)}});
  add("argmin_axis1_f16", "ArgMin", {ties.cast(DType::F16)}, {}, {{"axis", intAttr(0)}});
  add("argmax_i64", "ArgMax", {ints({4, -1, 9, 9, 2})}, {}, {{"select_last_index", intAttr(1)}});
  // Lines of at least cuda::kArgBlockLine contiguous elements run a block per line: ties
  // across threads' strided shares (first, or last with select_last_index), NaN in two
  // threads' shares (the lower index wins), keepdims 0, f16.
  {
    std::vector<double> line(3 * 3000);
    for (size_t i = 0; i < line.size(); ++i)
      line[i] = std::round(std::sin(0.37 * double(i)) * 10) / 10; // many ties at +-1
    Tensor longLines = Tensor::fromVector(DType::F64, {3, 3000}, line).cast(DType::F32);
    line[3000 + 2500] = NAN;
    line[3000 + 1700] = NAN;
    Tensor withNaN = Tensor::fromVector(DType::F64, {3, 3000}, line).cast(DType::F32);
    add("argmax_long_ties_first", "ArgMax", {longLines}, {}, {{"axis", intAttr(1)}});
    add("argmax_long_ties_last", "ArgMax", {longLines}, {},
        {{"axis", intAttr(-1)}, {"select_last_index", intAttr(1)}});
    add("argmin_long_nan", "ArgMin", {withNaN}, {}, {{"axis", intAttr(1)}, {"keepdims", intAttr(0)}});
    add("argmax_long_f16", "ArgMax", {withNaN.cast(DType::F16).reshaped({3, 1, 3000, 1})}, {},
        {{"axis", intAttr(2)}});
  }
  // TopK: the reference's order (NaN the largest, ties by index) for largest and smallest,
  // K from 1 to the whole line, inner axes, halves, integers, and K as an attribute (opset 9).
  Tensor mixed = Tensor::fromVector(DType::F64, {4, 6},
                                    std::vector<double>{1, 3, 3, NAN, 0, 3,   2, 2, 2, 2, 2, 2,
                                                        5, NAN, 7, NAN, -1, 5, -2, 4, 4, -2, 9, 0})
                     .cast(DType::F32);
  add("topk_largest_ties_nan", "TopK", {mixed}, {{1, ints({3})}}, {}, 2);
  add("topk_smallest_whole_line", "TopK", {mixed}, {{1, ints({6})}}, {{"largest", intAttr(0)}}, 2);
  add("topk_axis0_inner", "TopK", {mixed}, {{1, ints({2})}}, {{"axis", intAttr(0)}}, 2);
  add("topk_middle_axis_f16", "TopK", {iota(DType::F32, {2, 5, 3}).cast(DType::F16)},
      {{1, ints({4})}}, {{"axis", intAttr(1)}, {"largest", intAttr(0)}}, 2);
  add("topk_i64", "TopK", {ints({4, -1, 9, 9, 2, 9})}, {{1, ints({4})}}, {}, 2);
  {
    OpCase c{"topk_opset9_k_attr", "TopK", {mixed}, {}, {}, 2, 9};
    c.attrs.set("k", intAttr(2));
    v.push_back(c);
  }
  // ScatterND: slices and elements, duplicate and negative indices applied in order for
  // every reduction (NaN through max/min as std::max/min), f16 rounding per update, integers,
  // a KV-cache-like write of one position per head.
  auto scatter = [&](std::string name, std::vector<Tensor> data, std::string reduction) {
    OpCase c{std::move(name), "ScatterND", std::move(data), {}, {}, 1, 18};
    c.attrs.set("reduction", stringAttr(reduction));
    v.push_back(c);
  };
  auto i64 = [](Shape s, std::vector<int64_t> v) { return Tensor::fromVector(DType::I64, s, v); };
  Tensor rows = iota(DType::F32, {5, 3});
  scatter("scatternd_rows", {rows, i64({2, 1}, {1, -1}), iota(DType::F32, {2, 3}).cast(DType::F32)}, "none");
  Tensor dup = i64({4, 2}, {0, 1, 2, 2, 0, 1, -5, -2});
  Tensor upd = Tensor::fromVector(DType::F64, {4}, std::vector<double>{1.5, NAN, -2.25, 8}).cast(DType::F32);
  for (const char *red : {"none", "add", "mul", "max", "min"})
    scatter(std::string("scatternd_dup_") + red, {rows, dup, upd}, red);
  scatter("scatternd_add_f16", {rows.cast(DType::F16), dup, upd.cast(DType::F16)}, "add");
  scatter("scatternd_mul_i64", {i64({2, 3}, {1, 2, 3, 4, 5, 6}), i64({3, 1}, {1, 0, 1}),
                                i64({3, 3}, {2, 2, 2, -1, 0, 1, 3, 3, 3})}, "mul");
  // ScatterElements: duplicates along the axis applied in order, negative indices, indices
  // smaller than the data off the axis, each reduction; Scatter (opset 9) as none.
  auto scatterElements = [&](std::string name, std::vector<Tensor> data, std::string reduction,
                             int64_t axis, const char *op = "ScatterElements", int64_t opset = 18) {
    OpCase c{std::move(name), op, std::move(data), {}, {}, 1, opset};
    if (opset >= 16)
      c.attrs.set("reduction", stringAttr(reduction));
    c.attrs.set("axis", intAttr(axis));
    v.push_back(c);
  };
  Tensor along = i64({2, 3}, {1, -1, 1, 0, 2, 0});
  Tensor alongUpd = Tensor::fromVector(DType::F64, {2, 3}, std::vector<double>{1.5, NAN, -2.25, 8, 0.5, 3})
                        .cast(DType::F32);
  for (const char *red : {"none", "add", "mul", "max", "min"})
    scatterElements(std::string("scatterelements_axis1_") + red, {rows, along, alongUpd}, red, 1);
  scatterElements("scatterelements_axis0_negative", {rows, i64({2, 3}, {4, -5, 2, -1, 0, 4}), alongUpd},
                  "add", 0);
  scatterElements("scatter_opset9", {rows, along, alongUpd}, "none", -1, "Scatter", 9);
  scatter("scatternd_kv_cache_write", {iota(DType::F32, {1, 2, 6, 4}),
                                       i64({1, 2, 1, 3}, {0, 0, 4, 0, 1, 4}),
                                       iota(DType::F32, {1, 2, 1, 4})}, "none");
  for (int64_t opset : {18, 21}) { // scale/bias per group (18), per channel (21)
    int64_t n = opset >= 21 ? 6 : 3;
    OpCase c{"groupnorm_opset" + std::to_string(opset), "GroupNormalization",
             {wide, iota(DType::F32, {n}), iota(DType::F32, {n}).cast(DType::F32)}, {}, {}, 1, opset};
    c.attrs.set("num_groups", intAttr(3));
    v.push_back(c);
  }
  for (OpCase &c : cudatest::numericOpCases())
    v.push_back(std::move(c));
  return v;
}

class GeneratedOp : public ::testing::TestWithParam<OpCase> {};

TEST_P(GeneratedOp, MatchesTheReferenceKernel) {
  const OpCase &c = GetParam();
  std::vector<const Tensor *> args(c.data.size() + c.constants.size(), nullptr);
  size_t d = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    auto k = std::find_if(c.constants.begin(), c.constants.end(), [&](auto &p) { return p.first == i; });
    args[i] = k != c.constants.end() ? &k->second : &c.data[d++];
  }
  ref::KernelCall call;
  call.opType = c.op;
  call.nodeName = c.name;
  call.opset = opsetOf(c);
  call.inputs = args;
  call.attrs = &c.attrs;
  call.numOutputs = c.numOutputs;
  std::vector<Tensor> want = ref::runKernel(call);
  want.resize(c.numOutputs); // LayerNormalization's statistics are not asked for
  std::vector<Tensor> got = runGenerated(c, want);
  ASSERT_EQ(got.size(), want.size());
  bool movement = cuda::isMovement(c.op) || c.op == "MaxPool" || c.op == "GlobalMaxPool" ||
                  c.op == "TopK" || c.op == "ScatterND" || c.op == "ScatterElements" ||
                  c.op == "Scatter" || // scatter: the same roundings in order
                  c.op.rfind("Bit", 0) == 0 || c.op == "OneHot" || // integers, selection: exact
                  c.op == "MatMulInteger" || c.op == "QLinearMatMul" || c.op == "ConvInteger" ||
                  c.op == "QLinearConv" || c.name.rfind("nonfinite_cast", 0) == 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].shape(), want[i].shape()) << c.name;
    ASSERT_EQ(got[i].dtype(), want[i].dtype()) << c.name;
    for (int64_t e = 0; e < want[i].numel(); ++e) {
      double g = got[i].getAsDouble(e), w = want[i].getAsDouble(e);
      // Movement and max pools copy bits; sums are f32 arithmetic in another order.
      if (movement) // NaN moves as NaN
        ASSERT_TRUE(g == w || (std::isnan(g) && std::isnan(w)))
            << c.name << " output " << i << " element " << e << ": " << g << " vs " << w;
      else if (std::isnan(w) || std::isinf(w)) // the same non-finite value
        ASSERT_TRUE(g == w || (std::isnan(g) && std::isnan(w)))
            << c.name << " element " << e << ": " << g << " vs " << w;
      else
        ASSERT_NEAR(g, w, 1e-5 * std::max(1.0, std::fabs(w))) << c.name << " element " << e;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cuda, GeneratedOp, ::testing::ValuesIn(opCases()),
                         [](const ::testing::TestParamInfo<OpCase> &p) { return p.param.name; });

} // namespace
} // namespace plumb
