// cuda.matmul: one cuBLASLt call per step, with the bias/ReLU/GELU(tanh) epilogue. Row-major
// C = A B is computed as column-major C^T = B^T A^T, so "A" below is our B and vice versa.
// f32 runs with CUBLAS_COMPUTE_32F (TF32 off) unless the step says tf32 = 1; f16/bf16 plans
// keep A, B, C/D and the bias in the storage type with CUBLAS_COMPUTE_32F and an f32 scale
// type (fp32 accumulation, never CUBLAS_COMPUTE_16F).
#include "backends/cuda/libs/CudaLibs.h"
#include "backends/cuda/runtime/DeviceKernel.h"

#include "runtime/Error.h"

namespace plumb::cuda {
namespace {

cudaDataType_t cudaType(DType t, const std::string &label) {
  switch (t) {
  case DType::F32: return CUDA_R_32F;
  case DType::F16: return CUDA_R_16F;
  case DType::BF16: return CUDA_R_16BF;
  default: throw Error("cuda.matmul for '" + label + "': " + dtypeName(t) + " is not supported");
  }
}

template <class T> void setAttr(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, T v) {
  check(cublasLt().cublasLtMatmulDescSetAttribute(d, a, &v, sizeof v),
        "cublasLtMatmulDescSetAttribute");
}

cublasLtMatrixLayout_t layout(cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld,
                              int64_t batch, int64_t stride) {
  cublasLtMatrixLayout_t l;
  check(cublasLt().cublasLtMatrixLayoutCreate(&l, t, uint64_t(rows), uint64_t(cols), ld), "layout");
  if (batch > 1) {
    int32_t b = int32_t(batch);
    check(cublasLt().cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &b,
                                                      sizeof b),
          "batch count");
    check(cublasLt().cublasLtMatrixLayoutSetAttribute(
              l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride),
          "batch stride");
  }
  return l;
}

class MatMulKernel : public DeviceKernel {
public:
  MatMulKernel(const Step &s, const std::vector<BufferInfo> &in, const std::vector<BufferInfo> &out,
               DeviceContext &ctx)
      : label_(s.nodeNames) {
    const ref::Attrs &a = s.attrs;
    int64_t m = a.requireInt("m"), n = a.requireInt("n"), k = a.requireInt("k");
    int64_t batch = a.getInt("batch", 1);
    bool ta = a.getInt("trans_a", 0), tb = a.getInt("trans_b", 0);
    alpha_ = float(a.getFloat("alpha", 1.0));
    beta_ = float(a.getFloat("beta", 0.0));
    hasBias_ = a.getInt("bias", 0) != 0;
    // Inputs A, B, [bias], [C]: Gemm's C, or a residual Add's tensor (then beta is 1), read
    // from c_offset elements into its buffer.
    size_t ci = hasBias_ ? 3 : 2;
    hasC_ = in.size() > ci && in[ci].present;
    cOffsetBytes_ = a.getInt("c_offset", 0) * int64_t(dtypeSize(out.at(0).dtype));
    requireOneType(s, in, out);
    cudaDataType_t t = cudaType(out.at(0).dtype, label_);
    bool f32 = t == CUDA_R_32F;
    cublasComputeType_t compute = f32 && a.getInt("tf32", 0) ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                              : CUBLAS_COMPUTE_32F;
    check(cublasLt().cublasLtMatmulDescCreate(&desc_, compute, CUDA_R_32F),
          "cublasLtMatmulDescCreate");
    // Column-major roles: opA is applied to our B, opB to our A.
    setAttr(desc_, CUBLASLT_MATMUL_DESC_TRANSA, tb ? CUBLAS_OP_T : CUBLAS_OP_N);
    setAttr(desc_, CUBLASLT_MATMUL_DESC_TRANSB, ta ? CUBLAS_OP_T : CUBLAS_OP_N);
    std::string ep = a.getString("epilogue", "none");
    cublasLtEpilogue_t e = CUBLASLT_EPILOGUE_DEFAULT;
    if (ep == "relu")
      e = hasBias_ ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
    else if (ep == "gelu_tanh") // cuBLASLt's GELU is the tanh approximation
      e = hasBias_ ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
    else if (ep == "none")
      e = hasBias_ ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    else
      throw Error("cuda.matmul for '" + label_ + "': unknown epilogue '" + ep + "'");
    setAttr(desc_, CUBLASLT_MATMUL_DESC_EPILOGUE, e);
    if (hasBias_)
      setAttr(desc_, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, t);
    int64_t sa = a.getInt("stride_a", 0), sb = a.getInt("stride_b", 0), sc = a.getInt("stride_c", m * n);
    if (hasC_) { // a plan whose C view runs past its buffer is refused, not read past
      int64_t offset = a.getInt("c_offset", 0);
      if (offset < 0 || offset + (batch - 1) * sc + m * n > numElements(in[ci].shape))
        throw Error("cuda.matmul for '" + label_ + "': C at element " + std::to_string(offset) +
                    " runs past its buffer " + shapeToString(in[ci].shape));
    }
    // Our B (k x n row-major, or n x k with trans_b) is column-major n x k (or k x n).
    la_ = tb ? layout(t, k, n, k, batch, sb) : layout(t, n, k, n, batch, sb);
    lb_ = ta ? layout(t, m, k, m, batch, sa) : layout(t, k, m, k, batch, sa);
    lc_ = layout(t, n, m, n, batch, sc);
    cublasLtMatmulPreference_t pref;
    check(cublasLt().cublasLtMatmulPreferenceCreate(&pref), "preference");
    uint64_t ws = ctx.workspaceBytes;
    check(cublasLt().cublasLtMatmulPreferenceSetAttribute(
              pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
          "workspace preference");
    if (cOffsetBytes_ != 0) { // C starts inside a buffer: only as aligned as its offset
      uint32_t align = 256;
      while (align > 1 && cOffsetBytes_ % align != 0)
        align /= 2;
      check(cublasLt().cublasLtMatmulPreferenceSetAttribute(
                pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align, sizeof align),
            "C alignment preference");
    }
    int found = 0;
    cublasStatus_t st = cublasLt().cublasLtMatmulAlgoGetHeuristic(ctx.lt, desc_, la_, lb_, lc_, lc_,
                                                                  pref, 1, &algo_, &found);
    cublasLt().cublasLtMatmulPreferenceDestroy(pref);
    if (st != CUBLAS_STATUS_SUCCESS || found == 0)
      throw Error("cuda.matmul for '" + label_ + "': cuBLASLt has no algorithm for " +
                  std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n) +
                  " with epilogue " + ep);
  }
  ~MatMulKernel() override {
    cublasLt().cublasLtMatrixLayoutDestroy(la_);
    cublasLt().cublasLtMatrixLayoutDestroy(lb_);
    cublasLt().cublasLtMatrixLayoutDestroy(lc_);
    cublasLt().cublasLtMatmulDescDestroy(desc_);
  }
  void launch(const std::vector<const void *> &in, const std::vector<void *> &out,
              DeviceContext &ctx) override {
    if (hasBias_) {
      const void *bias = in.at(2);
      check(cublasLt().cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                      &bias, sizeof bias),
            "bias pointer");
    }
    const void *c = hasC_ ? static_cast<const char *>(in[hasBias_ ? 3 : 2]) + cOffsetBytes_ : out[0];
    float beta = hasC_ ? beta_ : 0.f;
    check(cublasLt().cublasLtMatmul(ctx.lt, desc_, &alpha_, in[1], la_, in[0], lb_, &beta, c, lc_,
                                    out[0], lc_, &algo_.algo, ctx.workspace, ctx.workspaceBytes,
                                    ctx.stream),
          "cuda.matmul for '" + label_ + "'");
  }

private:
  std::string label_;
  float alpha_ = 1, beta_ = 0;
  bool hasBias_ = false, hasC_ = false;
  int64_t cOffsetBytes_ = 0;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t la_ = nullptr, lb_ = nullptr, lc_ = nullptr;
  cublasLtMatmulHeuristicResult_t algo_{};
};

} // namespace

std::unique_ptr<DeviceKernel> makeMatMulKernel(const Step &s, const std::vector<BufferInfo> &in,
                                               const std::vector<BufferInfo> &out,
                                               DeviceContext &ctx) {
  return std::make_unique<MatMulKernel>(s, in, out, ctx);
}

} // namespace plumb::cuda
