// Input preparation: .npz by name, or seeded random data with Gather indices kept in range.
#include "tools/lib/Inputs.h"

#include "frontend/onnx/Importer.h"
#include "frontend/tensorio/TensorIO.h"
#include "ir/PlumbDialect.h"
#include "ir/TensorAttr.h"
#include "runtime/Error.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <iostream>
#include <random>

using namespace mlir;

namespace plumb {

std::vector<std::string> inputNames(Operation *op) {
  auto fn = cast<func::FuncOp>(op);
  std::vector<std::string> names;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto a = fn.getArgAttrOfType<StringAttr>(i, kNameAttr);
    names.push_back(a ? a.str() : "input_" + std::to_string(i));
  }
  return names;
}

std::vector<std::string> outputNames(Operation *op) {
  auto fn = cast<func::FuncOp>(op);
  std::vector<std::string> names;
  for (unsigned i = 0; i < fn.getNumResults(); ++i) {
    auto a = fn.getResultAttrOfType<StringAttr>(i, kNameAttr);
    names.push_back(a ? a.str() : "output_" + std::to_string(i));
  }
  return names;
}

namespace {

// The smallest table size a Gather indexes with `v` (following shape-preserving ops), or
// 0 when `v` feeds no Gather with a static table.
int64_t gatherBound(Value v, int depth = 0) {
  if (depth > 8)
    return 0;
  int64_t bound = 0;
  auto merge = [&](int64_t b) {
    if (b > 0)
      bound = bound == 0 ? b : std::min(bound, b);
  };
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (auto g = dyn_cast<GatherOp>(user); g && use.getOperandNumber() == 1) {
      auto data = dyn_cast<RankedTensorType>(g.getData().getType());
      if (!data)
        continue;
      int64_t axis = g.getAxis().value_or(0);
      axis = axis < 0 ? axis + data.getRank() : axis;
      if (axis >= 0 && axis < data.getRank() && !data.isDynamicDim(unsigned(axis)))
        merge(data.getDimSize(unsigned(axis)));
    } else if (isa<CastOp, ReshapeOp, UnsqueezeOp, SqueezeOp, FlattenOp, IdentityOp, ExpandOp>(
                   user) &&
               use.getOperandNumber() == 0) {
      merge(gatherBound(user->getResult(0), depth + 1));
    }
  }
  return bound;
}

Tensor randomTensor(DType dt, const Shape &shape, int64_t bound, std::mt19937_64 &rng) {
  // The 8/4-bit floats draw from the same normal distribution, rounded by the cast.
  bool floats = isFloat(dt) || isSmallFloat(dt);
  Tensor t = Tensor::zeros(floats ? DType::F64 : DType::I64, shape);
  if (dt == DType::Bool) {
    std::bernoulli_distribution coin(0.5);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.mutableData<int64_t>()[i] = coin(rng);
  } else if (floats) {
    std::normal_distribution<double> normal(0.0, 1.0);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.mutableData<double>()[i] = normal(rng);
  } else {
    std::uniform_int_distribution<int64_t> uni(0, std::max<int64_t>(bound, 1) - 1);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.mutableData<int64_t>()[i] = uni(rng);
  }
  return t.cast(dt);
}

} // namespace

OwningOpRef<ModuleOp> importWithInputs(MLIRContext &ctx, const std::string &model,
                                       const std::map<std::string, std::vector<int64_t>> &shapes,
                                       const std::string &npzPath, uint64_t seed,
                                       std::vector<Tensor> &inputs) {
  ImportOptions io;
  io.inputShapes = shapes;
  OwningOpRef<ModuleOp> module = importOnnxFile(ctx, model, io);
  Operation *fn = mainFunction(*module);
  inputs = prepareInputs(fn, npzPath, seed);
  bool dynamic = false;
  for (unsigned i = 0; i < cast<func::FuncOp>(fn).getNumArguments(); ++i)
    dynamic = dynamic || hasDynamicBatch(fn, i) || hasDynamicInner(fn, i);
  if (!dynamic)
    return module;
  std::vector<std::string> names = inputNames(fn);
  auto func = cast<func::FuncOp>(fn);
  for (size_t i = 0; i < names.size(); ++i) {
    // The same check the interpreter makes, before the shapes become pins.
    auto type = dyn_cast<RankedTensorType>(func.getArgument(unsigned(i)).getType());
    bool ok = !type || type.getRank() == inputs[i].rank();
    for (int64_t d = 0; ok && type && d < type.getRank(); ++d)
      ok = type.isDynamicDim(unsigned(d)) || type.getDimSize(unsigned(d)) == inputs[i].dim(d);
    if (!ok)
      throw Error("input '" + names[i] + "' must have shape " +
                  shapeToString(Shape(type.getShape().begin(), type.getShape().end())) +
                  " (? = any), got " + inputs[i].describe());
    io.inputShapes[names[i]] = inputs[i].shape();
  }
  // The first import's weights would otherwise stay in the context next to the second's.
  releaseResourceBlobs(*module);
  module = nullptr;
  return importOnnxFile(ctx, model, io);
}

Tensor sliceBatch(const Tensor &t, int64_t i) {
  Shape shape = t.shape();
  if (shape.empty() || i < 0 || i >= shape[0])
    throw Error("cannot take row " + std::to_string(i) + " of " + t.describe());
  shape[0] = 1;
  size_t rowBytes = t.nbytes() / size_t(t.dim(0));
  return Tensor::copyOf(t.dtype(), shape, static_cast<const char *>(t.raw()) + rowBytes * size_t(i));
}

static RankedTensorType argType(Operation *op, unsigned i) {
  return dyn_cast<RankedTensorType>(cast<func::FuncOp>(op).getArgument(i).getType());
}

bool hasDynamicBatch(Operation *op, unsigned i) {
  RankedTensorType t = argType(op, i);
  return t && t.getRank() > 0 && t.isDynamicDim(0);
}

bool hasDynamicInner(Operation *op, unsigned i) {
  RankedTensorType t = argType(op, i);
  if (!t)
    return false;
  for (int64_t d = 1; d < t.getRank(); ++d)
    if (t.isDynamicDim(unsigned(d)))
      return true;
  return false;
}

std::vector<Tensor> prepareInputs(Operation *op, const std::string &npzPath, uint64_t seed,
                                  DynamicDims dyn) {
  auto fn = cast<func::FuncOp>(op);
  std::vector<std::string> names = inputNames(op);
  std::vector<Tensor> inputs;
  if (!npzPath.empty()) {
    NamedTensors given = readNpz(npzPath);
    for (const std::string &name : names) {
      auto it = std::find_if(given.begin(), given.end(),
                             [&](const auto &kv) { return kv.first == name; });
      if (it == given.end())
        throw Error(npzPath + ": missing input '" + name + "'");
      inputs.push_back(it->second);
    }
    return inputs;
  }
  std::mt19937_64 rng(seed);
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto type = cast<TensorType>(fn.getArgument(i).getType());
    std::optional<DType> dt = dtypeOf(type.getElementType());
    if (!dt)
      throw Error("input '" + names[i] + "' has an unsupported element type");
    auto ranked = dyn_cast<RankedTensorType>(type);
    if (!ranked)
      throw Error("input '" + names[i] + "' has no known rank; pin it with --input-shape");
    Shape shape;
    for (int64_t d : ranked.getShape()) {
      if (ShapedType::isDynamic(d)) {
        int64_t chosen = shape.empty() ? dyn.batch : dyn.rest;
        if (chosen <= 0)
          std::cerr << "note: input '" << names[i] << "' has a dynamic dim; using 1 (pin it "
                    << "with --input-shape " << names[i] << "=...)\n";
        d = chosen > 0 ? chosen : 1;
      }
      shape.push_back(d);
    }
    int64_t bound = gatherBound(fn.getArgument(i));
    inputs.push_back(randomTensor(*dt, shape, bound > 0 ? bound : 2, rng));
  }
  return inputs;
}

} // namespace plumb
