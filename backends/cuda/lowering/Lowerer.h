// Internal to the CUDA lowering: the Lowerer that walks @main into a cuda Plan, shared by
// Lowering.cpp (values, buffers, generated kernels, fusions, the walk), LibrarySteps.cpp (the
// cuBLASLt and cuDNN steps with their epilogues, pads and crops), Deferred.cpp (ops computed
// in their reader's kernel), Siblings.cpp (sibling kernels) and Views.cpp (strided views).
#pragma once

#include "backends/cuda/lowering/Lowering.h"
#include "backends/cuda/lowering/StepAttrs.h"

#include "backends/cuda/codegen/Emit.h"
#include "backends/cuda/codegen/Generator.h"
#include "ir/PlumbDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace plumb::cuda {

inline bool isCopyOp(const std::string &t) {
  return t == "Reshape" || t == "Flatten" || t == "Squeeze" || t == "Unsqueeze" || t == "Identity";
}

inline bool isGeneratable(mlir::Operation *op) {
  std::string t = onnxOpType(op).str();
  // LayerNormalization's Mean/InvStdDev results may exist, unused.
  if (op->getNumResults() == 0)
    return false;
  bool oneResult = op->getNumResults() == 1 ||
                   llvm::all_of(op->getResults().drop_front(), [](mlir::Value r) { return r.use_empty(); });
  return oneResult && (isSupportedElementwise(t) || isRowOp(t));
}

// Whether a fusion's body is elementwise ops alone (with composable movement between them):
// "elementwise", and the activations ("silu", "gelu", ...). One elementwise or composite
// kernel computes it, reading every input at its coordinates.
bool elementwiseBody(FusionOp f);
// Whether one generated kernel (elementwise, composite or row) can compute a fusion's body:
// generatable ops and composable movement, no MatMul or Conv, not attention.
bool generatedBody(FusionOp f);
// Whether `op` is a row kernel's work (a norm, Softmax or row reduction, or a fusion of such
// and elementwise ops) / floating-point elementwise arithmetic a generated kernel computes (a
// generatable elementwise op, or a fusion of them alone). (Deferred.cpp)
bool rowWork(mlir::Operation *op);
bool arithmetic(mlir::Operation *op);
// Whether argument `index` of a "matmul..+add" / "gemm..+add" body is its residual: the
// GEMM's C, which cuBLASLt reads at an offset into a buffer (a contiguous view: an RNN
// step's row of x W^T).
bool residualArgument(FusionOp f, unsigned index);

// Whether `op` can be a strided view of its data operand (a Split, a Slice with constant
// starts, a Transpose, an Expand, a Gather of one constant index, a reshape); a reshape may
// still turn out not to be one: Lowerer::stridedOf knows the strides it reads (Views.cpp).
bool isViewOp(mlir::Operation *op);

inline bool deviceFloat(mlir::Type t) {
  auto tt = mlir::dyn_cast<mlir::TensorType>(t);
  if (!tt)
    return true;
  mlir::Type e = tt.getElementType();
  return e.isF32() || e.isF16() || e.isBF16();
}

inline bool allDeviceFloat(mlir::Operation *op) {
  return llvm::all_of(op->getOperandTypes(), deviceFloat) &&
         llvm::all_of(op->getResultTypes(), deviceFloat);
}

class Lowerer {
public:
  Lowerer(const CudaLoweringOptions &o, CudaLoweringStats *s,
          const std::map<std::string, Shape> *hints)
      : opts_(o), stats_(s ? s : &ownStats_), hints_(hints) {}
  Plan run(mlir::func::FuncOp fn);

private:
  // How a tensor of type `t` is stored in this plan: f32 becomes opts_.dtype.
  DType stored(DType t) const { return t == DType::F32 ? opts_.dtype : t; }
  // How `v` is stored: stored(its type), except f32 results of nodes kept in f32, and the
  // results of reshapes and movement ops, which take their data operand's buffer type.
  DType storedType(mlir::Value v) const;
  // Whether `op` is one of the nodes opts_.keepF32 names / `v` is read by one (through
  // fusion bodies).
  bool kept(mlir::Operation *op) const;
  bool feedsKept(mlir::Value v) const;
  // Buffer `id` as type `t` for a library step: itself, or a copy through a cast kernel
  // (constants: a second constant, cast once here). Memoized.
  int asType(int id, DType t);
  // Whether every buffer in `ids` (-1: absent) is stored as `t`.
  bool allStoredAs(const std::vector<int> &ids, DType t) const;
  Shape shapeOf(mlir::Value v);
  int bufferFor(mlir::Value v);
  // The plan buffer of `v` (a body argument: of the fusion operand it stands for), lowering
  // its pending producer first if it has one.
  int operand(mlir::Value v);
  // What `v` stands for: a body argument its fusion operand, a deferred fusion's result its
  // body's (transitively).
  mlir::Value canonical(mlir::Value v) const {
    for (auto it = aliases_.find(v); it != aliases_.end(); it = aliases_.find(v))
      v = it->second;
    return v;
  }
  void recordDtype(Step &s) const { s.attrs.set("plumb.dtype", stringAttr(dtypeName(opts_.dtype))); }
  Step &addStep(const std::string &kernel, std::vector<int> in, std::vector<int> out,
                const std::string &nodes);
  Step &emit(const std::string &kernel, const std::string &nodes, std::vector<int> in,
             std::vector<mlir::Value> outs);
  void setKernel(Step &s, const KernelGraph &g, const GeneratedKernel &k,
                 const CompiledKernel &bin);
  void castStep(int src, int dst, const std::string &nodes, const std::string &outputName);
  int padStep(int src, const std::vector<int64_t> &begin, const std::vector<int64_t> &end,
              const std::string &nodes);
  int movementStep(const std::string &op, int src, const Shape &outShape,
                   const std::vector<std::vector<int64_t>> &ints, const std::string &nodes,
                   const std::string &suffix);
  void cropStep(int src, const std::vector<int64_t> &begin, mlir::Value out, const std::string &nodes);
  void lowerOp(mlir::Operation *op);
  void lowerNow(mlir::Operation *op); // lowerOp less the deferrals
  // `converging` lets the op be deferred where several ops read it but all of them land in
  // one kernel (readerOf); without it, only where one op reads it.
  bool deferrable(mlir::Operation *op, bool converging = true) const;
  // The op whose kernel computes the readers of `r`: its one reader; or, where several ops
  // read it (with `converging`), the leader of the sibling group they all belong to, or the one
  // op each of them is deferred into (DiT's Cos and Sin of one product, both computed by their
  // Concat's kernel; a reader that is itself that op counts too). Null otherwise.
  mlir::Operation *readerOf(mlir::Value r, bool converging) const;
  // Sibling kernels: elementwise ops (or fusions of them) reading common values, each a step
  // of its own otherwise (not deferrable), become one kernel writing all their results:
  // Llama's Cos and Sin of the rotary angles, and its q and k rotations (of two shapes: the
  // kernel walks one output after the other). A group is placed at its first member, so a
  // later member joins only when everything it reads is defined before that, or is a view, a
  // deferred op or a constant computed from such values (planned before the walk).
  void planSiblings(mlir::func::FuncOp fn);
  // One kernel for a sibling group (ops, and fusions of elementwise bodies), else one each.
  void lowerSiblings(mlir::ArrayRef<mlir::Operation *> group);
  // Whether `op` reads, directly or through deferred arithmetic, a deferred norm or softmax
  // (its kernel is then a row kernel computing it).
  bool readsPendingRow(mlir::Operation *op) const;
  // Lowers on their own the deferred producers `op`'s kernel would compute (withPending: a
  // composite or prologue the generator refused); whether there were any.
  bool lowerPulled(mlir::Operation *op);
  // Whether `op` is arithmetic read by a row kernel (of its shape) and by others: deferred
  // all the same, the first kernel computing it (the row kernel, in its passes) writes it for
  // the others.
  bool sharedWithRow(mlir::Operation *op) const;
  // `ops` after the pending producers they read (transitively), producers first.
  std::vector<mlir::Operation *> withPending(mlir::ArrayRef<mlir::Operation *> ops) const;
  void lowerFusion(FusionOp fusion); // plumb.fusion
  // A body's arguments: aliases of their pending operands (its kernel computes or views
  // them), else those operands' buffers. Its results: the buffers of what the body yields.
  void bindArguments(FusionOp fusion);
  void bindResults(FusionOp fusion);
  void lowerHost(mlir::Operation *op);
  void lowerRunTimeShaped(mlir::Operation *op);
  void lowerControlFlow(mlir::Operation *op);
  void lowerAlone(mlir::Operation *op);
  bool lowerGenerated(mlir::ArrayRef<mlir::Operation *> ops, mlir::StringRef kind, mlir::Operation *outTranspose = nullptr);
  mlir::Operation *attentionTranspose(mlir::Operation *op) const;
  void lowerGroup(mlir::ArrayRef<mlir::Operation *> ops, mlir::StringRef kind);
  size_t lowerMatMul(mlir::ArrayRef<mlir::Operation *> ops, size_t i);
  size_t lowerConv(mlir::ArrayRef<mlir::Operation *> ops, size_t i);

  const CudaLoweringOptions &opts_;
  CudaLoweringStats ownStats_;
  CudaLoweringStats *stats_;
  const std::map<std::string, Shape> *hints_;
  Plan plan_;
  llvm::DenseMap<mlir::Value, int> ids_;
  // `v` as a strided view of the buffer of `root`: itself (row-major), or through pending
  // reshapes, splits and slices (viewOnly) of one; nullopt when a reshape is not a view.
  struct Strided {
    mlir::Value root;
    int64_t offset = 0;
    std::vector<int64_t> strides;
    std::vector<int64_t> divisors; // per dim, 1 but for a repeat (an expanded, merged dim)
  };
  std::optional<Strided> stridedOf(mlir::Value v);
  bool viewOnly(mlir::Operation *op) const;
  // Whether the kernel `user` lowers to is expected to read its operand `index` through a
  // strided view (the generator's rule, readsViews, asked of an op before it has a graph).
  bool readsThroughView(mlir::Operation *user, unsigned index) const;
  // The output transposes an attention step already wrote through.
  llvm::SmallPtrSet<mlir::Operation *, 16> absorbed_;
  // Ops computed by their one reader's generated kernel instead of a step of their own
  // (composite kernels): the op per result until a kernel pulls it in, or operand() lowers
  // it on its own because something else needs its buffer; and the view ops (viewOnly) a
  // kernel reads through. The arguments of an elementwise or attention body that stand for
  // such a result are aliases of it.
  llvm::DenseMap<mlir::Value, mlir::Operation *> pending_;
  llvm::DenseMap<mlir::Value, mlir::Value> aliases_;
  // Sibling groups (planSiblings): each member's leader (its first member), and each leader's
  // members in block order.
  llvm::DenseMap<mlir::Operation *, mlir::Operation *> siblingLeader_;
  llvm::DenseMap<mlir::Operation *, std::vector<mlir::Operation *>> siblings_;
  // Ops after a group's leader that a later member reads, lowered (lowerOp) before the group:
  // the walk skips them.
  llvm::SmallPtrSet<mlir::Operation *, 16> visitedAhead_;
  // Pending ops a kernel computed that nothing else reads (for --stats).
  llvm::SmallPtrSet<mlir::Operation *, 16> computedInside_;
  std::map<std::pair<int, DType>, int> converted_;
  llvm::DenseSet<mlir::Value> runTime_; // cpu::runTimeShapedValues: kept on the host
  int64_t opset_ = 17;
};

} // namespace plumb::cuda
