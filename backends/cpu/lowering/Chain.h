// Which ops a cpu.chain program (backends/cpu/Chain.cpp) can hold, and how.
#pragma once

#include "mlir/IR/Operation.h"

#include <optional>
#include <string>
#include <vector>

namespace plumb::cpu {

// One instruction of a cpu.chain program: the kernel's op name, the operands that are
// registers (constant bounds and exponents become params) and two float params.
struct ChainInstr {
  std::string name;
  std::vector<mlir::Value> args;
  float params[2] = {0, 0};
  bool reduces = false; // over the last axis, keeping it as 1
};

// The instruction computing `op` (f32 arithmetic, comparisons and logic on bool, Where, Cast
// to f32 from f32/bool/i32/i64, Expand as a broadcast, Reduce{Sum,Mean,Max,Min} over the last
// axis with keepdims), or nullopt when cpu.chain cannot run it.
std::optional<ChainInstr> chainInstrFor(mlir::Operation *op, int64_t opset);

} // namespace plumb::cpu
