// The importer's internals, shared by Importer.cpp (graphs, nodes, attributes) and
// Subgraphs.cpp (control-flow bodies as regions, model-local functions inlined).
#pragma once

#include "frontend/onnx/Importer.h"
#include "frontend/onnx/Weights.h"
#include "runtime/Error.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <onnx/onnx_pb.h>

#include <map>
#include <set>
#include <string>
#include <unordered_map>

namespace plumb {

class GraphImporter {
public:
  GraphImporter(mlir::MLIRContext &ctx, const std::string &path, const ImportOptions &opts,
                ModelInfo &info);

  mlir::OwningOpRef<mlir::ModuleOp> run(onnx::ModelProto &model);

private:
  [[noreturn]] void fail(const std::string &msg) const { throw Error(path_ + ": " + msg); }
  // The MLIR type of an ONNX value type (tensor, sequence or optional); with
  // `allowMissing`, null for a TypeProto that says nothing (subgraph inputs may omit it).
  mlir::Type typeFromProto(const onnx::TypeProto &t, const std::string &name, bool isInput,
                           bool allowMissing = false);
  void importInitializers(onnx::GraphProto &g);
  mlir::func::FuncOp createFunction(const onnx::GraphProto &g, mlir::ModuleOp module);
  void importNode(const onnx::NodeProto &node, size_t index);
  mlir::Operation *createOp(const onnx::NodeProto &node, const std::string &name,
                            mlir::OperationName opName, mlir::ValueRange operands);
  std::optional<mlir::NamedAttribute> convertAttribute(const onnx::NodeProto &node,
                                                       const onnx::AttributeProto &a);
  mlir::Value noneValue();
  void refineFromValueInfo(mlir::Operation *op, const onnx::NodeProto &node);
  void verifyNode(mlir::Operation *op, const onnx::NodeProto &node, const std::string &name);

  // Subgraphs.cpp
  bool hasRegions(const std::string &opType) const;
  void importRegions(mlir::Operation *op, const onnx::NodeProto &node, const std::string &name);
  void importSubgraph(const onnx::GraphProto &g, mlir::Region &region,
                      llvm::ArrayRef<mlir::Type> derivedArgTypes, const std::string &where);
  const onnx::FunctionProto *findFunction(const onnx::NodeProto &node) const;
  void inlineFunction(const onnx::NodeProto &call, const onnx::FunctionProto &fn,
                      const std::string &callName);

  mlir::MLIRContext &ctx_;
  mlir::OpBuilder b_;
  std::string path_;
  const ImportOptions &opts_;
  ModelInfo &info_;
  WeightImporter weights_;
  // ONNX names in scope: the graph's, plus the enclosing graphs' inside a subgraph.
  std::unordered_map<std::string, mlir::Value> values_;
  std::unordered_map<std::string, mlir::Type> valueInfo_;
  std::set<std::string> bnStatistics_; // initializers used as BatchNorm mean/var
  mlir::Value none_;
  mlir::Block *entry_ = nullptr;
  // Model-local functions by (domain, name).
  std::map<std::pair<std::string, std::string>, const onnx::FunctionProto *> functions_;
  // Inside an inlined function: the call's attributes (ref_attr_name resolves against
  // them), the prefix that keeps node and tensor names unique, and the nesting depth.
  const std::map<std::string, onnx::AttributeProto> *callAttrs_ = nullptr;
  std::string scopePrefix_;
  int inlineDepth_ = 0;
};

} // namespace plumb
