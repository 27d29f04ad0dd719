// The library steps of the CUDA lowering: MatMul/Gemm as cuda.matmul (cuBLASLt, with a bias
// Add and ReLU / tanh-GELU as its epilogue) and Conv/ConvTranspose as cuda.conv /
// cuda.convtranspose (cuDNN, with bias, residual Add and ReLU fused; pads its symmetric
// descriptor cannot say as a Pad kernel before a conv or a Slice crop after a ConvTranspose).
#include "backends/cuda/lowering/Lowerer.h"
#include "backends/cuda/lowering/StepAttrs.h"

#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/runtime/CudaBackend.h"
#include "backends/reference/Interpreter.h"
#include "backends/reference/kernels/Common.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"

using namespace mlir;

namespace plumb::cuda {

// MatMul/Gemm at ops[i] with a following bias Add and ReLU / tanh-GELU as the epilogue;
// returns the index after the last op absorbed.
size_t Lowerer::lowerMatMul(ArrayRef<Operation *> ops, size_t i) {
  Operation *mm = ops[i];
  bool gemm = isa<GemmOp>(mm);
  ref::Attrs a = gemm ? ref::attrsOf(mm) : ref::Attrs();
  bool ta = a.getInt("transA", 0), tb = a.getInt("transB", 0);
  MatMulGeometry geo;
  // One type for A, B, C/D and the bias: the result's (f32 when the node is kept).
  DType t = storedType(mm->getResult(0));
  try {
    if (!allDeviceFloat(mm))
      throw Error("cuda.matmul takes f32, f16 and bf16");
    geo = matmulGeometry(shapeOf(mm->getOperand(0)), shapeOf(mm->getOperand(1)), ta, tb);
  } catch (const Error &e) {
    stats_->fallbacks.push_back(joinedNodeNames(mm) + ": " + e.what());
    lowerHost(mm);
    return i + 1;
  }
  std::vector<int> in = {asType(operand(mm->getOperand(0)), t),
                         asType(operand(mm->getOperand(1)), t)};
  Value cur = mm->getResult(0);
  bool bias = false;
  double beta = a.getFloat("beta", 1.0);
  if (gemm && !isa<NoneType>(mm->getOperand(2).getType())) {
    Shape c = shapeOf(mm->getOperand(2));
    int cid = asType(operand(mm->getOperand(2)), t);
    if (numElements(c) == geo.n && c.back() == geo.n && beta == 1.0)
      bias = true; // cuBLASLt's bias epilogue
    else if (c != shapeOf(cur)) // a scalar, a row, a column or a scaled bias: C is [m, n]
      cid = movementStep("Expand", cid, shapeOf(cur), {shapeOf(cur)},
                         "broadcast C of " + joinedNodeNames(mm), ".broadcast");
    in.push_back(cid);
  }
  size_t next = i + 1;
  std::string nodes = joinedNodeNames(mm);
  // An epilogue op joins the step only when it is kept in f32 exactly when the MatMul is.
  if (!gemm && next < ops.size() && isa<AddOp>(ops[next]) && cur.hasOneUse() &&
      *cur.user_begin() == ops[next] && kept(ops[next]) == kept(mm)) {
    Value b = ops[next]->getOperand(0) == cur ? ops[next]->getOperand(1) : ops[next]->getOperand(0);
    Shape bs = shapeOf(b);
    if (!bs.empty() && bs.back() == geo.n && numElements(bs) == geo.n &&
        b.getType() != cur.getType() && isFloat(plan_.buffers[size_t(operand(b))].dtype)) {
      in.push_back(asType(operand(b), t));
      bias = true;
      cur = ops[next]->getResult(0);
      nodes += ", " + joinedNodeNames(ops[next]);
      ++next;
    }
  }
  // A residual Add (the fusion pass's "+add"): cuBLASLt's C with beta 1, so D = A B + C +
  // bias, then the activation. A contiguous view (an unrolled RNN step's row of x W^T) is
  // read in place at an offset into its buffer when that keeps C 16-byte aligned (the
  // alignment cuBLASLt's vectorized kernels want); otherwise a kernel copies it out.
  int64_t cOffset = 0;
  bool hasC = gemm && !isa<NoneType>(mm->getOperand(2).getType());
  if (!hasC && next < ops.size() && isa<AddOp>(ops[next]) && cur.hasOneUse() &&
      *cur.user_begin() == ops[next] && kept(ops[next]) == kept(mm)) {
    Value r = ops[next]->getOperand(0) == cur ? ops[next]->getOperand(1) : ops[next]->getOperand(0);
    if (r != cur && shapeOf(r) == shapeOf(cur) && deviceFloat(r.getType())) {
      int cid = -1;
      if (pending_.count(canonical(r)))
        if (std::optional<Strided> v = stridedOf(r);
            v && v->root != canonical(r) && v->strides == ref::stridesOf(shapeOf(r)) &&
            llvm::all_of(v->divisors, [](int64_t d) { return d == 1; }) &&
            v->offset * int64_t(dtypeSize(t)) % 16 ==
                0) {
          cid = operand(v->root);
          cOffset = v->offset;
        }
      if (cid < 0)
        cid = operand(r);
      in.push_back(asType(cid, t)); // after the bias: inputs A, B, [bias], [C]
      beta = 1.0;
      cur = ops[next]->getResult(0);
      nodes += ", " + joinedNodeNames(ops[next]);
      ++next;
    }
  }
  std::string epilogue = "none";
  if (next < ops.size() && cur.hasOneUse() && *cur.user_begin() == ops[next] &&
      kept(ops[next]) == kept(mm)) {
    Operation *act = ops[next];
    auto approx = act->getAttrOfType<StringAttr>("approximate");
    if (isa<ReluOp>(act))
      epilogue = "relu";
    else if (isa<GeluOp>(act) && approx && approx.getValue() == "tanh")
      epilogue = "gelu_tanh";
    if (epilogue != "none") {
      cur = act->getResult(0);
      nodes += ", " + joinedNodeNames(act);
      ++next;
    }
  }
  // GPT-2's gelu_new, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), exported as its ops
  // and matched by the fusion pass (a "matmul+bias+gelu_tanh" body: the MatMul, its bias,
  // then the activation's ops to the end): the function cuBLASLt's GELU epilogue computes.
  auto fusion = dyn_cast<FusionOp>(mm->getParentOp());
  if (epilogue == "none" && fusion && fusion.getKind().ends_with("+gelu_tanh") && bias &&
      i == 0 && next < ops.size() && fusion->getNumResults() == 1 &&
      llvm::all_of(ops.drop_front(next), [&](Operation *o) { return kept(o) == kept(mm); })) {
    epilogue = "gelu_tanh";
    for (Operation *o : ops.drop_front(next))
      nodes += ", " + joinedNodeNames(o);
    cur = cast<YieldOp>(fusion.getBody().front().getTerminator()).getValues()[0];
    next = ops.size();
  }
  Step &s = emit("cuda.matmul", nodes, in, {cur});
  s.attrs.set("m", intAttr(geo.m));
  s.attrs.set("n", intAttr(geo.n));
  s.attrs.set("k", intAttr(geo.k));
  s.attrs.set("batch", intAttr(geo.batch));
  s.attrs.set("stride_a", intAttr(geo.strideA));
  s.attrs.set("stride_b", intAttr(geo.strideB));
  s.attrs.set("stride_c", intAttr(geo.strideC));
  s.attrs.set("trans_a", intAttr(ta));
  s.attrs.set("trans_b", intAttr(tb));
  s.attrs.set("alpha", floatAttr(a.getFloat("alpha", 1.0)));
  s.attrs.set("beta", floatAttr(beta));
  s.attrs.set("bias", intAttr(bias));
  if (cOffset != 0)
    s.attrs.set("c_offset", intAttr(cOffset));
  s.attrs.set("epilogue", stringAttr(epilogue));
  s.attrs.set("tf32", intAttr(opts_.tf32));
  stats_->byKernel["cuda.matmul"]++;
  return next;
}

// One generated movement kernel (`op` with integer operands `ints`) from buffer `src` into
// a new intermediate of shape `outShape` named after `src` with `suffix`.
int Lowerer::movementStep(const std::string &op, int src, const Shape &outShape,
                          const std::vector<std::vector<int64_t>> &ints, const std::string &nodes,
                          const std::string &suffix) {
  Buffer b = plan_.buffers[size_t(src)]; // a copy: adding a buffer may move the vector
  KernelGraph g = movementGraph(op, b.dtype, b.shape, outShape, ints, nodes, opset_);
  GeneratedKernel k = generateKernel(g);
  CompiledKernel bin = compileKernel(k.source, "[" + nodes + "]", opts_.nvrtc);
  int dst = plan_.addBuffer(BufferKind::Intermediate, b.dtype, outShape, b.name + suffix);
  Step &s = addStep("cuda.generated", {src}, {dst}, nodes);
  s.outputNames = {""};
  setKernel(s, g, k, bin);
  return dst;
}

// Zero padding of buffer `src` by `begin`/`end` elements per dim into a new buffer: one
// generated Pad kernel (a conv whose pads cuDNN cannot take pads its input first).
int Lowerer::padStep(int src, const std::vector<int64_t> &begin, const std::vector<int64_t> &end,
                     const std::string &nodes) {
  Shape padded = plan_.buffers[size_t(src)].shape;
  std::vector<int64_t> pads = begin;
  pads.insert(pads.end(), end.begin(), end.end());
  for (size_t d = 0; d < padded.size(); ++d)
    padded[d] += begin[d] + end[d];
  return movementStep("Pad", src, padded, {pads}, nodes, ".padded");
}

// `out` as the part of buffer `src` starting at `begin` (one per dim): one generated Slice
// kernel (a ConvTranspose with more padding on one side crops cuDNN's result).
void Lowerer::cropStep(int src, const std::vector<int64_t> &begin, Value out,
                       const std::string &nodes) {
  Buffer b = plan_.buffers[size_t(src)];
  Shape shape = shapeOf(out);
  std::vector<int64_t> ends = begin, axes;
  for (size_t d = 0; d < shape.size(); ++d) {
    ends[d] += shape[d];
    axes.push_back(int64_t(d));
  }
  KernelGraph g = movementGraph("Slice", b.dtype, b.shape, shape, {begin, ends, axes}, nodes, opset_);
  GeneratedKernel k = generateKernel(g);
  CompiledKernel bin = compileKernel(k.source, "[" + nodes + "]", opts_.nvrtc);
  Step &s = emit("cuda.generated", nodes, {src}, {out});
  setKernel(s, g, k, bin);
}

size_t Lowerer::lowerConv(ArrayRef<Operation *> ops, size_t i) {
  Operation *conv = ops[i];
  ref::Attrs a = ref::attrsOf(conv);
  Shape w = shapeOf(conv->getOperand(1)), x = shapeOf(conv->getOperand(0)),
        y = shapeOf(conv->getResult(0));
  size_t spatial = w.size() - 2;
  bool transposed = isa<ConvTransposeOp>(conv);
  std::vector<int64_t> outPad = a.getInts("output_padding", std::vector<int64_t>(spatial, 0));
  // cuDNN pads symmetrically. A conv with more padding on one side (explicit asymmetric
  // pads, an odd SAME total) pads its input by the difference first; a ConvTranspose runs
  // with the smaller pads and crops the difference off its result.
  std::optional<std::vector<int64_t>> resolved =
      transposed ? transposedPads(a, x, w, y) : convPads(a, x, w, y);
  bool ok = allDeviceFloat(conv) && spatial >= 1 && spatial <= 3 && resolved;
  std::vector<int64_t> pads = resolved ? *resolved : std::vector<int64_t>();
  // A ConvTranspose whose output_shape exceeds its full size has negative pads: output
  // rows no input element reaches (0, plus the bias). Zero rows added to its input (a
  // stride's worth of output each, receiving nothing but the bias too) make them
  // non-negative: x padded before cuDNN as a forward conv's is.
  std::vector<int64_t> zerosBegin(spatial + 2, 0), zerosEnd(spatial + 2, 0);
  bool zeroRows = false;
  if (ok && transposed) {
    std::vector<int64_t> st = a.getInts("strides", std::vector<int64_t>(spatial, 1));
    for (size_t d = 0; d < spatial; ++d)
      for (size_t side : {d, d + spatial}) {
        if (pads[side] >= 0 || st[d] < 1)
          continue;
        int64_t rows = (-pads[side] + st[d] - 1) / st[d];
        (side == d ? zerosBegin : zerosEnd)[d + 2] = rows;
        pads[side] += rows * st[d];
        x[d + 2] += rows;
        zeroRows = true;
      }
  }
  std::vector<int64_t> extraBegin(spatial + 2, 0), extraEnd(spatial + 2, 0);
  bool extra = false;
  for (size_t d = 0; ok && d < spatial; ++d) {
    int64_t common = std::min(pads[d], pads[d + spatial]);
    ok = common >= 0;
    extraBegin[d + 2] = pads[d] - common;
    extraEnd[d + 2] = pads[d + spatial] - common;
    extra = extra || extraBegin[d + 2] || extraEnd[d + 2];
    pads[d] = pads[d + spatial] = common;
  }
  Shape cudnnOut = y; // what cuDNN writes: the result, or more of it to crop
  if (ok && transposed) {
    // cuDNN derives the result's size from its descriptor: the full size less the symmetric
    // pads, which output_padding may extend by less than a stride (or dilation).
    std::vector<int64_t> st = a.getInts("strides", std::vector<int64_t>(spatial, 1)),
                         dil = a.getInts("dilations", std::vector<int64_t>(spatial, 1));
    for (size_t d = 0; ok && d < spatial; ++d) {
      cudnnOut[d + 2] += extraBegin[d + 2] + extraEnd[d + 2];
      ok = outPad[d] >= 0 && outPad[d] < std::max(st[d], dil[d]) &&
           cudnnOut[d + 2] ==
               st[d] * (x[d + 2] - 1) + outPad[d] + (w[d + 2] - 1) * dil[d] + 1 - 2 * pads[d];
    }
  }
  if (!ok) {
    stats_->fallbacks.push_back(joinedNodeNames(conv) + ": " +
                                (transposed ? "cuda.convtranspose" : "cuda.conv") +
                                " takes 1-D/2-D/3-D f32/f16/bf16 convs with pads or auto_pad ONNX "
                                "defines and output_padding below the stride");
    lowerHost(conv);
    return i + 1;
  }
  // One value per cuDNN spatial dim: a 1-D conv runs as 2-D with H = 1 (pad 0, stride and
  // dilation 1 on H); pads are the begin pads (checked symmetric above).
  auto perDimOf = [&](std::vector<int64_t> v, int64_t h) {
    if (spatial == 1)
      v.insert(v.begin(), h);
    return v;
  };
  auto perDim = [&](const char *name, int64_t def) {
    return perDimOf(a.getInts(name, std::vector<int64_t>(spatial, def)), def == 0 ? 0 : 1);
  };
  std::vector<int64_t> begins =
      perDimOf(std::vector<int64_t>(pads.begin(), pads.begin() + int64_t(spatial)), 0);
  // x, w, bias and y in one type: the result's (f32 when the node is kept).
  DType t = storedType(conv->getResult(0));
  std::vector<int> in;
  for (Value v : conv->getOperands())
    in.push_back(asType(operand(v), t));
  if (extra && !transposed)
    in[0] = padStep(in[0], extraBegin, extraEnd, "pad " + joinedNodeNames(conv));
  if (zeroRows)
    in[0] = padStep(in[0], zerosBegin, zerosEnd, "zero rows " + joinedNodeNames(conv));
  Value cur = conv->getResult(0);
  std::string nodes = joinedNodeNames(conv), activation = "none";
  size_t next = i + 1;
  auto onlyUser = [&](Value v, size_t at) {
    return at < ops.size() && v.hasOneUse() && *v.user_begin() == ops[at] &&
           kept(ops[at]) == kept(conv);
  };
  // A residual Add of a tensor shaped like the result (ResNet's skip connection) joins the
  // cuDNN call as its z input: cudnnConvolutionBiasActivationForward computes
  // act(conv + z + bias) with alpha2 = 1, the ReLU (if one follows) after the sum, as ONNX
  // does. That call always reads a bias, so a conv without one keeps its Add separate.
  if (!transposed && in.size() == 3 && in[2] >= 0 && onlyUser(cur, next) && isa<AddOp>(ops[next])) {
    Operation *add = ops[next];
    Value z = add->getOperand(0) == cur ? add->getOperand(1) : add->getOperand(0);
    if (z != cur && ids_.count(z) && deviceFloat(z.getType()) && shapeOf(z) == shapeOf(cur)) {
      in.push_back(asType(operand(z), t));
      cur = add->getResult(0);
      nodes += ", " + joinedNodeNames(add);
      ++next;
    }
  }
  if (onlyUser(cur, next) && isa<ReluOp>(ops[next])) {
    activation = "relu";
    cur = ops[next]->getResult(0);
    nodes += ", " + joinedNodeNames(ops[next]);
    ++next;
  }
  std::string kernel = transposed ? "cuda.convtranspose" : "cuda.conv";
  Step *sp = nullptr;
  if (extra && transposed) { // cuDNN's result into a larger buffer, then the crop
    int full = plan_.addBuffer(BufferKind::Intermediate, storedType(cur), cudnnOut,
                               joinedNodeNames(conv) + ".uncropped");
    sp = &addStep(kernel, in, {full}, nodes);
    sp->outputNames = {""};
  } else {
    sp = &emit(kernel, nodes, in, {cur});
  }
  Step &s = *sp;
  if (transposed)
    s.attrs.set("output_padding", intsAttr(perDimOf(outPad, 0)));
  s.attrs.set("pads", intsAttr(begins));
  s.attrs.set("strides", intsAttr(perDim("strides", 1)));
  s.attrs.set("dilations", intsAttr(perDim("dilations", 1)));
  s.attrs.set("group", intAttr(a.getInt("group", 1)));
  s.attrs.set("activation", stringAttr(activation));
  s.attrs.set("tf32", intAttr(opts_.tf32));
  stats_->byKernel[s.kernel]++;
  if (extra && transposed)
    cropStep(s.outputs[0], extraBegin, cur, nodes);
  return next;
}

} // namespace plumb::cuda
