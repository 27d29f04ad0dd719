// Internal to backends/cpu: a kernel's oneDNN primitive timed on its own, the yardstick of the
// per-op throughput check (`plumb bench --per-op`).
#pragma once

#include "backends/cpu/Dnnl.h"

#include <memory>

namespace plumb::cpu {

// Rebuilds `prim` (a convolution or matmul) as oneDNN would run it alone on the same shape:
// the same operation, attributes and post-ops, with src, weights and dst in format_tag::any
// (the implementation's preferred layouts), weights reordered beforehand from `weights` (the
// kernel's prepared weights in whatever layout it keeps them; empty: a fill pattern), and no
// reorders around it; runs it once (first touch). nullptr for other primitive kinds or when
// oneDNN refuses the rebuilt primitive.
std::unique_ptr<AlonePrimitive> makeAlonePrimitive(const dnnl::primitive &prim,
                                                   const dnnl::memory &weights);

} // namespace plumb::cpu
