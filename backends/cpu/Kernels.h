// Internal to backends/cpu: the factory of each cpu.* kernel (one .cpp per family).
#pragma once

#include "backends/cpu/Dnnl.h"

#include <memory>

namespace plumb::cpu {

std::unique_ptr<RuntimeKernel> makeConvKernel(const KernelArgs &a);      // Conv.cpp
std::unique_ptr<RuntimeKernel> makeMatMulKernel(const KernelArgs &a);    // MatMul.cpp
std::unique_ptr<RuntimeKernel> makeSoftmaxKernel(const KernelArgs &a);   // Norm.cpp
std::unique_ptr<RuntimeKernel> makeLayerNormKernel(const KernelArgs &a); // Norm.cpp
std::unique_ptr<RuntimeKernel> makeBatchNormKernel(const KernelArgs &a); // Norm.cpp
std::unique_ptr<RuntimeKernel> makePoolKernel(const KernelArgs &a);      // Pool.cpp
std::unique_ptr<RuntimeKernel> makeEltwiseKernel(const KernelArgs &a);   // Elementwise.cpp
std::unique_ptr<RuntimeKernel> makeBinaryKernel(const KernelArgs &a);    // Elementwise.cpp
std::unique_ptr<RuntimeKernel> makeEinsumKernel(const KernelArgs &a);    // Einsum.cpp
std::unique_ptr<RuntimeKernel> makeCopyKernel(const KernelArgs &a);      // Layout.cpp
std::unique_ptr<RuntimeKernel> makeTransposeKernel(const KernelArgs &a); // Layout.cpp
std::unique_ptr<RuntimeKernel> makeSliceKernel(const KernelArgs &a);     // Movement.cpp
std::unique_ptr<RuntimeKernel> makeSplitKernel(const KernelArgs &a);     // Movement.cpp
std::unique_ptr<RuntimeKernel> makePadKernel(const KernelArgs &a);       // Pad.cpp
std::unique_ptr<RuntimeKernel> makeConcatKernel(const KernelArgs &a);    // Movement.cpp
std::unique_ptr<RuntimeKernel> makeGatherKernel(const KernelArgs &a);    // GatherScan.cpp
std::unique_ptr<RuntimeKernel> makeCumSumKernel(const KernelArgs &a);    // GatherScan.cpp
std::unique_ptr<RuntimeKernel> makeAttentionKernel(const KernelArgs &a); // Attention.cpp
std::unique_ptr<RuntimeKernel> makeChainKernel(const KernelArgs &a);     // Chain.cpp
std::unique_ptr<RuntimeKernel> makeRefKernel(const KernelArgs &a);       // RefFallback.cpp
// A step's result for output `i` into its slot `out`, in the planned `dtype`: a run-time-shaped
// output becomes the result itself, any other is copied into the planned storage, whose shape
// the result must have (else an error naming `who` and both types). RefFallback.cpp.
void storeOutput(Tensor *out, const Tensor &result, DType dtype, bool runTimeShape, size_t i,
                 const std::string &who);
std::unique_ptr<RuntimeKernel> makeIfKernel(const KernelArgs &a);        // ControlFlow.cpp
std::unique_ptr<RuntimeKernel> makeLoopKernel(const KernelArgs &a);      // ControlFlow.cpp
std::unique_ptr<RuntimeKernel> makeScanKernel(const KernelArgs &a);      // ControlFlow.cpp

} // namespace plumb::cpu
