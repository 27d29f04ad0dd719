// A compiled program as the runtime sees it: buffers (inputs, outputs, weights, temporaries)
// and an ordered list of kernel calls over them. MLIR-free; a backend lowering builds it.
#pragma once

#include "backends/reference/Kernel.h"
#include "runtime/Tensor.h"

#include <string>
#include <vector>

namespace plumb {

enum class BufferKind {
  Input,        // a graph input, supplied to Executor::run
  Output,       // a graph output, fresh storage each run (handed to the caller)
  Constant,     // weights and other initializers; `constant` holds the data
  Intermediate, // a temporary placed in the executor's arena by the BufferPlanner
};

const char *bufferKindName(BufferKind k);

// How a buffer's elements lie in memory. Plain is ONNX's dense row-major order, the only
// layout graph inputs, outputs and constants have. ChannelBlocked is the backend's native
// channel-blocked layout for N×C×spatial activations (oneDNN's nC[d][h]wXc: channels in
// blocks of X, X chosen by the backend for the machine it runs on, e.g. 8 on AVX2, 16 on
// AVX-512): a lowering gives it to an intermediate buffer only when every step that writes or
// reads it accepts that layout, so tensors stay blocked between convolutions instead of being
// reordered at every step boundary. It is allowed only where C is a multiple of 16, so that the
// blocked tensor occupies exactly the plain tensor's bytes on every machine.
enum class Layout : uint8_t { Plain, ChannelBlocked };
const char *layoutName(Layout l);
// Whether a buffer of this dtype and shape may be ChannelBlocked (f32, rank 3 to 5, C % 16 == 0).
bool channelBlockable(DType dtype, const Shape &shape);

struct Buffer {
  int id = -1; // == its index in Plan::buffers
  DType dtype = DType::F32;
  // For most buffers the shape every run has. For a `runTimeShape` buffer, the shape of the
  // compile-time run (a sample): its value decides its shape (NonZero, Unique, Compress,
  // NonMaxSuppression, a Range or ConstantOfShape of computed operands, and what is computed
  // from those), so each run's writer allocates it, and only kernels that take their shapes at
  // run time (RuntimeKernel::takesRunTimeShapes) may touch it. Not in the arena. An Input
  // marked so (a control-flow body's, fed such a value or a Loop's carried value that grows)
  // takes any shape of its rank.
  Shape shape;
  bool runTimeShape = false;
  BufferKind kind = BufferKind::Intermediate;
  Layout layout = Layout::Plain; // ChannelBlocked only for intermediates (see Layout)
  std::string name;       // the ONNX tensor name (graph input/output, initializer or activation)
  plumb::Tensor constant; // defined() only for BufferKind::Constant
  // Empty for plain data. For a constant stored pre-packed (an artifact's weights in the
  // layout the kernel reading them chose, see runtime/Packing.h): the layout's text form;
  // `constant` then holds the packed bytes as u8[N] while dtype and shape stay the logical
  // ones. Only kernels of a registry that reads packed constants may read such a buffer.
  std::string packing;

  size_t bytes() const { return size_t(numElements(shape)) * dtypeSize(dtype); }
};

struct Plan;

// One kernel call. `kernel` names a factory in the KernelFactoryRegistry ("cpu.conv",
// "cpu.matmul", "ref.Softmax", ...). `attrs` are the ONNX attributes of the op the kernel
// implements plus plumb extras (e.g. "post_ops"); see backends/cpu/CpuBackend.h for what each
// cpu.* kernel expects.
struct Step {
  std::string kernel;
  ref::Attrs attrs;
  std::vector<int> inputs;  // buffer ids, ONNX-positional; -1 marks an absent optional input
  std::vector<int> outputs; // buffer ids; -1 marks an output the model does not use
  // ONNX tensor names of the outputs at this step's boundary (what a parity check compares
  // against the reference's activations of the same name): one per output, or empty to use
  // the output buffers' names.
  std::vector<std::string> outputNames;
  std::string nodeNames; // the ONNX node(s) this step implements, for error messages
  // Output 0 may take the memory of input `inPlaceInput` (an index into `inputs`; -1: none)
  // when this step is that input's last reader and both have the same dtype, size and layout:
  // the buffer planner then gives them one arena range. For kernels that accumulate into
  // their output (a "sum" post-op starts from the residual): no copy of the residual is made.
  int inPlaceInput = -1;
  int64_t opset = 17;    // ai.onnx opset of the model (some ops changed meaning across opsets)
  // The plans of a control-flow step's subgraphs: cpu.if's then and else branches, cpu.loop's
  // or cpu.scan's body (backends/cpu/ControlFlow.h says how their inputs and outputs map to the
  // step's).
  std::vector<Plan> bodies;
};

struct Plan {
  std::vector<Buffer> buffers; // indexed by id
  std::vector<Step> steps;     // in execution order
  std::vector<int> inputs;     // graph inputs in the order Executor::run takes them
  std::vector<int> outputs;    // graph outputs in the order Executor::run returns them

  // Appends a buffer and returns its id. Constant buffers take their data from `constant`.
  int addBuffer(BufferKind kind, DType dtype, Shape shape, std::string name,
                plumb::Tensor constant = {});
  // Appends an Input/Output buffer and lists it in `inputs`/`outputs` too.
  int addInput(DType dtype, Shape shape, std::string name);
  int addOutput(DType dtype, Shape shape, std::string name);
  int addConstant(std::string name, plumb::Tensor value);
  Step &addStep(std::string kernel, std::vector<int> inputs, std::vector<int> outputs,
                std::string nodeNames = {});
};

// Throws plumb::Error (one line, naming the step or buffer) unless the plan is well formed:
// ids in range, constants hold data of their declared type and shape, every step reads only
// buffers that exist by then, every non-input buffer is written exactly once, graph outputs
// are Output buffers that some step writes, only blockable intermediates are
// ChannelBlocked, packed constants hold a layout that parsePacking accepts for their bytes,
// and runTimeShape buffers are plain inputs, intermediates or outputs.
void validatePlan(const Plan &plan);

} // namespace plumb
