// libFuzzer target: the ONNX importer (graphs, subgraphs, functions, attributes, initializers)
// must reject any ModelProto with plumb::Error, never crash, hang or read out of bounds.
#include "frontend/onnx/Importer.h"
#include "runtime/Error.h"

#include "mlir/IR/MLIRContext.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // One context per input: an import that fails half-way leaves nothing behind.
  static mlir::DialectRegistry registry;
  mlir::MLIRContext ctx(registry, mlir::MLIRContext::Threading::DISABLED);
  try {
    auto module = plumb::importOnnxBytes(ctx, data, size, "/nonexistent/fuzz.onnx");
    (void)module;
  } catch (const plumb::Error &) {
  }
  return 0;
}
