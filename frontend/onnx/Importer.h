// ONNX ModelProto -> a `func.func @main` of plumb ops (NameLoc per node, output names kept).
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace plumb {

struct ImportOptions {
  // Pins graph input shapes (`--input-shape name=1x3x224x224`); -1 keeps a dim dynamic.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  // Initializers at or above this many bytes become resource blobs that reference the
  // protobuf's (or the external data file's) memory instead of being copied.
  size_t blobThresholdBytes = 1024;
};

// What `plumb inspect` reports beyond the IR itself.
struct ModelInfo {
  std::string path;
  int64_t irVersion = 0;
  int64_t opset = 0;
  std::string producer;
  std::string graphName;
  // Parameters: float initializers are trainable unless they feed a BatchNormalization's
  // running mean/variance; integer/bool initializers and Constant nodes are buffers.
  int64_t trainableParams = 0, trainableTensors = 0;
  int64_t bufferElements = 0, bufferTensors = 0;
  int64_t weightBytes = 0;
};

// Imports the model at `path`. Throws plumb::Error("PATH: problem") on a malformed model,
// an unsupported op (naming node, op and opset) or inconsistent types.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxFile(mlir::MLIRContext &ctx, const std::string &path,
                                                 const ImportOptions &opts = {},
                                                 ModelInfo *info = nullptr);

// Imports a model held in memory; `where` names it in messages and its folder resolves
// external data. Same errors as importOnnxFile.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxBytes(mlir::MLIRContext &ctx, const void *data,
                                                  size_t size, const std::string &where,
                                                  const ImportOptions &opts = {},
                                                  ModelInfo *info = nullptr);

// Registers the dialects the importer produces (plumb, func) in `ctx`.
void loadPlumbDialects(mlir::MLIRContext &ctx);

// The `func.func @main` of an imported module.
mlir::Operation *mainFunction(mlir::ModuleOp module);

} // namespace plumb
