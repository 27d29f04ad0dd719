// ONNX's node test cases feed the operands that steer an op (Resize's scales, a Reduce*'s
// axes, Slice's starts, OneHot's depth) as graph inputs, where exported models hold them
// constant; a backend then runs such an op on a reference kernel (cuda.host, ref.*), so the
// case tests that kernel rather than the backend's own. bindSteeringInputs makes those inputs
// initializers holding the case's data.
#pragma once

#include "runtime/Tensor.h"
#include "tools/lib/Compile.h"

#include <onnx/onnx_pb.h>

#include <vector>

namespace plumb {

// Binds the graph inputs of `model` that steer an op of `compiled`'s plan: those the CUDA
// lowering named in a fallback ("'NODE' has a non-constant operand K"), and the operands of a
// node left on a reference kernel that steer it: after the first, integers and scalars (Clip's
// bounds); the first when it is a shape or a size (firstOperandIsASize: a window generator's
// length, a Range's start); and an integer input that such operands are computed from (an
// expanded window's size, through a Cast). `inputs` (the data fed to
// the graph's non-initializer inputs, in order) loses the bound ones. False when none is bound
// (the model and inputs are then unchanged).
bool bindSteeringInputs(onnx::ModelProto &model, std::vector<Tensor> &inputs,
                        const Compiled &compiled);

} // namespace plumb
