// Runs a cuda Plan on the host, so the CUDA backend's plans are checked against the reference
// interpreter on machines without a GPU (CI and most sessions).
//
// Generated kernels (cuda.generated) are compiled by the host C++ compiler, unchanged, behind
// a prelude that gives CUDA's thread model: each block's threads are fibers (ucontext) run
// one at a time; __syncthreads() waits until every live thread of the block reaches it, and
// __shfl_xor_sync() and __shfl_sync() exchange values through a slot per lane with a barrier of its warp, so
// the row kernels' block reductions and the attention kernel's shared key/value tiles behave
// as on a device. Elementwise, movement and window kernels are launched as one block of one
// thread: their grid-stride loop then covers the whole iteration space, without a fiber per
// element.
// cuda.matmul and cuda.conv follow the step's attrs the way the runtime configures cuBLASLt
// and cuDNN (row-major m×k by k×n per batch at the given strides, trans, alpha/beta, bias and
// ReLU/GELU-tanh epilogue; the reference Conv kernel on the step's 2-D pads/strides/dilations
// and groups, bias, ReLU), in f32 on f32 copies of the operands, stored back in the buffer's
// type. cuda.copy and cuda.host run as the device executor runs them (run-time-shaped values
// stay host tensors between host steps). Intermediates share
// one arena placed by the same planner as on the device.
//
// What this cannot tell: how the device's math library rounds (expf, tanhf, erff on the host
// are glibc's), in what order tensor cores accumulate (wmma fragments are multiplied here in
// f32, each lane holding the whole tile), and whether cuBLASLt/cuDNN read our descriptors as
// we mean them. Those still
// need a GPU run (backends/cuda/README.md).
#pragma once

#include "backends/cuda/runtime/CudaBackend.h"
#include "backends/reference/AttrValues.h"
#include "runtime/BufferPlanner.h"
#include "runtime/Error.h"
#include "runtime/Plan.h"

#include <dlfcn.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace plumb::cudatest {

// The host side of CUDA's device vocabulary, prepended to every generated kernel.
inline const char *kEmulationPrelude = R"EMU(
#include <cmath>
#include <cstdint>
#include <cstring>
#include <math.h>
#include <stdexcept>
#include <ucontext.h>
#include <type_traits>
#include <utility>
#include <vector>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
namespace plumb_emu {
struct Idx { unsigned x = 0, y = 0, z = 0; };
inline Idx threadIdx, blockIdx, blockDim, gridDim;
enum Wait { Runnable, AtBlockBarrier, AtWarpBarrier, Done };
struct Fiber { ucontext_t ctx; std::vector<char> stack; Wait wait = Runnable; };
inline ucontext_t scheduler;
inline std::vector<Fiber> fibers;
inline unsigned current = 0;
inline void (*body)(void *) = nullptr;
inline void *bodyArg = nullptr;
inline unsigned long long slots[1024];
inline void setThread(unsigned t) {
  current = t;
  threadIdx = {t % blockDim.x, t / blockDim.x % blockDim.y, t / (blockDim.x * blockDim.y)};
}
inline void trampoline() {
  body(bodyArg);
  fibers[current].wait = Done;
}
inline void wait(Wait w) {
  fibers[current].wait = w;
  swapcontext(&fibers[current].ctx, &scheduler);
}
// Runs one block to completion: every runnable fiber until it waits or returns, then releases
// a barrier that all its threads reached (the block's, or one warp's).
inline void runBlock(unsigned n) {
  for (unsigned t = 0; t < n; ++t) {
    Fiber &f = fibers[t];
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack.data();
    f.ctx.uc_stack.ss_size = f.stack.size();
    f.ctx.uc_link = &scheduler;
    makecontext(&f.ctx, trampoline, 0);
    f.wait = Runnable;
  }
  for (;;) {
    for (unsigned t = 0; t < n; ++t)
      if (fibers[t].wait == Runnable) {
        setThread(t);
        swapcontext(&scheduler, &fibers[t].ctx);
      }
    bool allDone = true, allAtBlock = true, released = false;
    for (unsigned t = 0; t < n; ++t) {
      allDone &= fibers[t].wait == Done;
      allAtBlock &= fibers[t].wait == Done || fibers[t].wait == AtBlockBarrier;
    }
    if (allDone)
      return;
    if (allAtBlock) {
      for (unsigned t = 0; t < n; ++t)
        if (fibers[t].wait == AtBlockBarrier)
          fibers[t].wait = Runnable;
      continue;
    }
    for (unsigned w = 0; w * 32 < n; ++w) {
      unsigned lo = w * 32, hi = lo + 32 < n ? lo + 32 : n;
      bool all = true;
      for (unsigned t = lo; t < hi; ++t)
        all &= fibers[t].wait == AtWarpBarrier;
      if (all) {
        for (unsigned t = lo; t < hi; ++t)
          fibers[t].wait = Runnable;
        released = true;
      }
    }
    if (!released)
      throw std::runtime_error("emulated kernel deadlocked: threads wait at different barriers");
  }
}
inline void launch(const long long *grid, const long long *block, void (*fn)(void *), void *arg) {
  gridDim = {unsigned(grid[0]), unsigned(grid[1]), unsigned(grid[2])};
  blockDim = {unsigned(block[0]), unsigned(block[1]), unsigned(block[2])};
  unsigned n = blockDim.x * blockDim.y * blockDim.z;
  if (n > 1024)
    throw std::runtime_error("more than 1024 threads per block");
  fibers.resize(n);
  for (Fiber &f : fibers)
    f.stack.resize(128 << 10);
  body = fn;
  bodyArg = arg;
  for (unsigned z = 0; z < gridDim.z; ++z)
    for (unsigned y = 0; y < gridDim.y; ++y)
      for (unsigned x = 0; x < gridDim.x; ++x) {
        blockIdx = {x, y, z};
        runBlock(n);
      }
}
// A kernel parameter from its slot: a pointer as it is, an int (plumb_step) carried in the
// pointer's bits.
template <class P> P param(void *a) {
  if constexpr (std::is_pointer_v<P>)
    return static_cast<P>(a);
  else
    return P(reinterpret_cast<intptr_t>(a));
}
template <class... P, size_t... I>
void callWith(void (*k)(P...), void **args, std::index_sequence<I...>) {
  k(param<P>(args[I])...);
}
template <class... P> void call(void (*k)(P...), void **args) {
  callWith(k, args, std::index_sequence_for<P...>{});
}
} // namespace plumb_emu
using plumb_emu::blockDim;
using plumb_emu::blockIdx;
using plumb_emu::gridDim;
using plumb_emu::threadIdx;
inline void __syncthreads() { plumb_emu::wait(plumb_emu::AtBlockBarrier); }
namespace plumb_emu {
// Every lane of the warp leaves `v` in its slot; each takes the slot of lane `from(lane)`.
template <class T, class From> T exchange(T v, From from) {
  static_assert(sizeof(T) <= sizeof(unsigned long long));
  unsigned t = current;
  std::memcpy(&slots[t], &v, sizeof v);
  wait(AtWarpBarrier);
  T r;
  std::memcpy(&r, &slots[(t & ~31u) | (from(t & 31u) & 31u)], sizeof r);
  wait(AtWarpBarrier);
  return r;
}
} // namespace plumb_emu
template <class T> T __shfl_xor_sync(unsigned, T v, int laneMask) {
  return plumb_emu::exchange(v, [&](unsigned lane) { return lane ^ unsigned(laneMask); });
}
template <class T> T __shfl_sync(unsigned, T v, int srcLane) {
  return plumb_emu::exchange(v, [&](unsigned) { return unsigned(srcLane); });
}
inline void __syncwarp(unsigned = 0xffffffffu) { plumb_emu::wait(plumb_emu::AtWarpBarrier); }
// wmma (m16n16k16) as the tensor-core attention kernel uses it. A fragment here is the whole
// 16x16 tile in every lane (on a device each lane holds a part, in a layout CUDA does not
// specify, so kernels go through load/store/mma only): each lane loads, multiplies and
// stores all of it, in f32. Loads end at a barrier of the warp, as the collective load does
// on a device (no lane stores over a tile another has yet to read); the kernel's __syncwarp()
// orders the rest as on a device.
namespace nvcuda::wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
template <class Use, int M, int N, int K, class T, class Layout = void> struct fragment {
  float x[256];
  static constexpr int num_elements = 256;
};
inline float toFloat(float v) { return v; }
inline float toFloat(__half v) { return __half2float(v); }
inline float toFloat(__nv_bfloat16 v) { return __bfloat162float(v); }
template <class Use, class T, class Layout, class P>
void load_matrix_sync(fragment<Use, 16, 16, 16, T, Layout> &f, const P *p, unsigned ldm) {
  bool col = std::is_same_v<Layout, col_major>;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      f.x[r * 16 + c] = toFloat(col ? p[c * ldm + r] : p[r * ldm + c]);
  plumb_emu::wait(plumb_emu::AtWarpBarrier);
}
inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float> &f, const float *p,
                             unsigned ldm, layout_t l) {
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      f.x[r * 16 + c] = l == mem_col_major ? p[c * ldm + r] : p[r * ldm + c];
  plumb_emu::wait(plumb_emu::AtWarpBarrier);
}
inline void store_matrix_sync(float *p, const fragment<accumulator, 16, 16, 16, float> &f,
                              unsigned ldm, layout_t l) {
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      (l == mem_col_major ? p[c * ldm + r] : p[r * ldm + c]) = f.x[r * 16 + c];
}
template <class F> void fill_fragment(F &f, float v) {
  for (float &e : f.x)
    e = v;
}
template <class A, class B>
void mma_sync(fragment<accumulator, 16, 16, 16, float> &d, const A &a, const B &b,
              const fragment<accumulator, 16, 16, 16, float> &c) {
  float out[256];
  for (int r = 0; r < 16; ++r)
    for (int n = 0; n < 16; ++n) {
      float acc = c.x[r * 16 + n];
      for (int k = 0; k < 16; ++k)
        acc += a.x[r * 16 + k] * b.x[k * 16 + n];
      out[r * 16 + n] = acc;
    }
  std::memcpy(d.x, out, sizeof out);
}
} // namespace nvcuda::wmma
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
// One thread runs at a time (fibers): a plain compare and swap is atomic here.
inline int atomicCAS(int *a, int compare, int v) { int old = *a; if (old == compare) *a = v; return old; }
inline double __longlong_as_double(long long i) { double d; std::memcpy(&d, &i, 8); return d; }
// Round-to-nearest double product and sum, never contracted into an FMA.
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
)EMU";

// The generated kernels of a plan, compiled for the host into one shared object.
class HostKernels {
public:
  HostKernels(const Plan &plan, const std::string &dir) {
    std::ostringstream tu;
    tu << kEmulationPrelude;
    for (const Step &s : plan.steps) {
      if (s.kernel != "cuda.generated")
        continue;
      std::string src = s.attrs.getString("source", "");
      if (index_.count(src))
        continue;
      size_t k = index_.size();
      index_[src] = k;
      std::string body;
      std::istringstream lines(src);
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind("#include", 0) == 0)
          continue; // the prelude includes what kernels use
        if (size_t p = line.find("extern \"C\" "); p != std::string::npos)
          line.erase(p, 11);
        body += line + "\n";
      }
      std::string entry = s.attrs.getString("entry", "plumb_kernel");
      tu << "namespace plumb_k" << k << " {\n" << body << "}\n"
         << "extern \"C\" void plumb_launch" << k
         << "(const long long *grid, const long long *block, void **args) {\n"
         << "  plumb_emu::launch(grid, block, [](void *a) { plumb_emu::call(plumb_k" << k
         << "::" << entry << ", static_cast<void **>(a)); }, args);\n}\n";
    }
    std::filesystem::create_directories(dir);
    // A fresh name per instance: dlopen hands back an already loaded library for a path it has
    // seen, whatever the file holds now.
    static int instances = 0;
    std::string stem = dir + "/kernels" + std::to_string(instances++);
    std::string cpp = stem + ".cpp", so = stem + ".so", log = stem + ".log";
    std::ofstream(cpp) << tu.str();
    if (const char *keep = std::getenv("PLUMB_EMU_KEEP")) // a folder to keep the sources in
      std::ofstream(std::string(keep) + "/" + std::filesystem::path(dir).filename().string() +
                    ".cpp") << tu.str();
    std::string cmd = std::string(PLUMB_CXX) + " -std=c++20 -O1 -w -shared -fPIC " +
                      PLUMB_CUDA_INCLUDES + " " + cpp + " -o " + so + " > " + log + " 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      std::ifstream in(log);
      std::stringstream ss;
      ss << in.rdbuf();
      throw Error("host compile of generated kernels failed (" + cpp + "):\n" + ss.str());
    }
    handle_ = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_)
      throw Error(std::string("dlopen: ") + dlerror());
  }
  ~HostKernels() {
    if (handle_)
      dlclose(handle_);
  }
  HostKernels(const HostKernels &) = delete;
  HostKernels &operator=(const HostKernels &) = delete;

  // Launches a cuda.generated step's kernel over host pointers (inputs then outputs).
  void launch(const Step &s, std::vector<void *> args) const {
    std::string src = s.attrs.getString("source", "");
    auto fn = reinterpret_cast<void (*)(const long long *, const long long *, void **)>(
        dlsym(handle_, ("plumb_launch" + std::to_string(index_.at(src))).c_str()));
    std::vector<int64_t> grid = s.attrs.getInts("grid", {1, 1, 1});
    std::vector<int64_t> block = s.attrs.getInts("block", {1, 1, 1});
    std::string style = s.attrs.getString("style", "");
    if (style == "elementwise" || style == "movement" || style == "window")
      grid = block = {1, 1, 1}; // the grid-stride loop covers every element
    long long g[3] = {grid[0], grid[1], grid[2]}, b[3] = {block[0], block[1], block[2]};
    fn(g, b, args.data());
  }

private:
  std::map<std::string, size_t> index_;
  void *handle_ = nullptr;
};

// cuda.matmul as MatMulKernel (backends/cuda/runtime/Blas.cpp) configures cuBLASLt.
inline Tensor emulateMatMul(const Step &s, const std::vector<const Tensor *> &in, const Buffer &out) {
  const ref::Attrs &a = s.attrs;
  int64_t m = a.requireInt("m"), n = a.requireInt("n"), k = a.requireInt("k");
  int64_t batch = a.getInt("batch", 1), sa = a.getInt("stride_a", 0), sb = a.getInt("stride_b", 0),
          sc = a.getInt("stride_c", m * n);
  bool ta = a.getInt("trans_a", 0), tb = a.getInt("trans_b", 0), bias = a.getInt("bias", 0);
  size_t ci = bias ? 3 : 2; // inputs A, B, [bias], [C]
  bool hasC = in.size() > ci && in[ci];
  int64_t co = a.getInt("c_offset", 0);
  double alpha = a.getFloat("alpha", 1.0), beta = a.getFloat("beta", 0.0);
  std::string ep = a.getString("epilogue", "none");
  Tensor A = in[0]->cast(DType::F32), B = in[1]->cast(DType::F32);
  Tensor bv = bias ? in.at(2)->cast(DType::F32) : Tensor();
  Tensor C = hasC ? in[ci]->cast(DType::F32) : Tensor();
  if (hasC && (co < 0 || co + (batch - 1) * sc + m * n > C.numel()))
    throw Error("cuda.matmul: C at offset " + std::to_string(co) + " runs past its buffer");
  Tensor r = Tensor::zeros(DType::F32, out.shape);
  const float *pa = A.data<float>(), *pb = B.data<float>();
  float *pr = r.mutableData<float>();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += double(pa[b * sa + (ta ? p * m + i : i * k + p)]) *
                 double(pb[b * sb + (tb ? j * k + p : p * n + j)]);
        double v = alpha * acc;
        if (hasC)
          v += beta * double(C.data<float>()[co + b * sc + i * n + j]);
        if (bias)
          v += double(bv.data<float>()[j]);
        if (ep == "relu")
          v = v < 0 ? 0 : v;
        else if (ep == "gelu_tanh")
          v = 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
        pr[b * sc + i * n + j] = float(v);
      }
  return r.cast(out.dtype);
}

// cuda.conv / cuda.convtranspose as ConvKernel (backends/cuda/runtime/Dnn.cpp) configures
// cuDNN: the step's per-dim attrs (a 1-D conv as 2-D with H = 1; a 3-D conv as is) given to
// the reference Conv / ConvTranspose kernel on f32 copies, plus the residual z, then ReLU.
inline Tensor emulateConv(const Step &s, const std::vector<const Tensor *> &in, const Buffer &out) {
  std::vector<int64_t> pads = s.attrs.getInts("pads");
  auto asCudnn = [](const Tensor &t) { // N×C×L -> N×C×1×L
    Shape sh = t.shape();
    if (sh.size() == 3)
      sh.insert(sh.begin() + 2, 1);
    return t.cast(DType::F32).reshaped(sh);
  };
  Tensor x = asCudnn(*in.at(0)), w = asCudnn(*in.at(1));
  Tensor b = in.size() > 2 && in[2] ? in[2]->cast(DType::F32) : Tensor();
  ref::Attrs attrs;
  std::vector<int64_t> beginEnd = pads;
  beginEnd.insert(beginEnd.end(), pads.begin(), pads.end());
  attrs.set("pads", ref::intsAttr(beginEnd));
  attrs.set("strides", ref::intsAttr(s.attrs.getInts("strides")));
  attrs.set("dilations", ref::intsAttr(s.attrs.getInts("dilations")));
  bool transposed = s.kernel == "cuda.convtranspose";
  if (transposed)
    attrs.set("output_padding", ref::intsAttr(s.attrs.getInts("output_padding")));
  attrs.set("group", ref::intAttr(s.attrs.getInt("group", 1)));
  ref::KernelCall call;
  call.opType = transposed ? "ConvTranspose" : "Conv";
  call.nodeName = s.nodeNames;
  call.inputs = {&x, &w, b.defined() ? &b : nullptr};
  call.attrs = &attrs;
  Tensor y = ref::runKernel(call).at(0).reshaped(out.shape).clone();
  if (in.size() > 3 && in[3]) { // the residual z, added before the activation
    Tensor z = in[3]->cast(DType::F32);
    if (z.shape() != y.shape())
      throw Error("cuda.conv for '" + s.nodeNames + "': residual " + z.describe() + " is not the result's shape");
    for (int64_t i = 0; i < y.numel(); ++i)
      y.mutableData<float>()[i] += z.data<float>()[i];
  }
  if (s.attrs.getString("activation", "none") == "relu")
    for (int64_t i = 0; i < y.numel(); ++i)
      y.mutableData<float>()[i] = std::max(0.f, y.data<float>()[i]);
  return y.cast(out.dtype);
}

// The plan run step by step on the host, its intermediates placed in one arena exactly as
// CudaExecutor places them on the device (planBuffers, 256-byte alignment), so a buffer that
// the planner lets another overwrite while still needed shows up here too. The arena starts
// filled with NaN bytes (0xFF): a read of never-written memory is not silently zero.
// buffer(id) is the buffer's value right after the step that wrote it.
class PlanEmulator {
public:
  PlanEmulator(const Plan &plan, const std::string &dir)
      : plan_(plan), kernels_(plan, dir), arena_(planBuffers(plan, 256)) {
    cuda::requireHostForRunTimeShapes(plan); // as CudaExecutor
  }

  std::vector<Tensor> run(const std::vector<Tensor> &inputs) {
    auto storage = std::make_shared<std::vector<double>>(arena_.peakIntermediateBytes / 8 + 1);
    std::memset(storage->data(), 0xFF, storage->size() * sizeof(double));
    char *base = reinterpret_cast<char *>(storage->data());
    values_.assign(plan_.buffers.size(), Tensor());
    written_.assign(plan_.buffers.size(), Tensor());
    failedStep_ = 0;
    for (const Buffer &b : plan_.buffers) {
      if (b.runTimeShape) // on the host: the host step writing it makes it
        continue;
      if (b.kind == BufferKind::Constant)
        values_[size_t(b.id)] = b.constant;
      else if (b.kind == BufferKind::Intermediate)
        values_[size_t(b.id)] = Tensor::borrow(b.dtype, b.shape, base + arena_.offsets[size_t(b.id)],
                                               storage);
      else if (b.kind == BufferKind::Output)
        values_[size_t(b.id)] = Tensor::zeros(b.dtype, b.shape);
    }
    for (size_t i = 0; i < plan_.inputs.size(); ++i)
      values_[size_t(plan_.inputs[i])] = inputs.at(i);
    for (size_t i = 0; i < plan_.steps.size(); ++i)
      runStep(i, plan_.steps[i]);
    std::vector<Tensor> outs;
    for (int id : plan_.outputs)
      outs.push_back(values_[size_t(id)]);
    return outs;
  }
  const Tensor &buffer(int id) const { return written_.at(size_t(id)); }

private:
  void runStep(size_t index, const Step &s) {
    std::vector<const Tensor *> in;
    for (int id : s.inputs)
      in.push_back(id < 0 ? nullptr : &values_[size_t(id)]);
    std::vector<Tensor> out; // results computed off the arena, copied into it below
    if (s.kernel == "cuda.generated") {
      std::vector<void *> args;
      for (const Tensor *t : in)
        args.push_back(const_cast<void *>(t->raw()));
      for (int id : s.outputs)
        args.push_back(values_.at(size_t(id)).mutableRaw()); // in place, as on the device
      int status = 0; // as CudaExecutor's: the step number of a failed index check
      if (s.attrs.getInt("index_checks", 0)) {
        args.push_back(&status);
        args.push_back(reinterpret_cast<void *>(intptr_t(index + 1)));
      }
      kernels_.launch(s, args);
      failedStep_ = status;
    } else if (s.kernel == "cuda.copy") {
      const Buffer &b = plan_.buffers[size_t(s.outputs.at(0))];
      out.push_back(Tensor::copyOf(b.dtype, b.shape, in.at(0)->raw()));
    } else if (s.kernel == "cuda.matmul" || s.kernel == "cuda.conv" ||
               s.kernel == "cuda.convtranspose") {
      // As the runtime: cuBLASLt/cuDNN read every operand in the output's type.
      const Buffer &o = plan_.buffers[size_t(s.outputs.at(0))];
      std::vector<DType> types;
      for (const Tensor *t : in)
        if (t)
          types.push_back(t->dtype());
      cuda::requireOneType(s, types, o.dtype);
      out.push_back(s.kernel == "cuda.matmul" ? emulateMatMul(s, in, o) : emulateConv(s, in, o));
    } else if (s.kernel == "cuda.host") {
      std::vector<DType> types;
      for (int id : s.outputs) // an unused output keeps the reference's type
        types.push_back(id < 0 ? DType::F32 : plan_.buffers[size_t(id)].dtype);
      out = cuda::runHostStep(s, in, types);
    } else {
      throw Error("emulator: no host emulation of step kernel '" + s.kernel + "'");
    }
    for (size_t i = 0; i < s.outputs.size(); ++i) {
      int id = s.outputs[i];
      if (id < 0)
        continue;
      Tensor &dst = values_[size_t(id)];
      if (plan_.buffers[size_t(id)].runTimeShape)
        dst = out.at(i);
      else if (i < out.size())
        std::memcpy(dst.mutableRaw(), out[i].raw(), dst.nbytes());
      written_[size_t(id)] = dst.clone();
    }
    if (failedStep_ != 0) // what the step wrote stays readable through buffer()
      cuda::failIndexCheck(size_t(failedStep_ - 1), plan_.steps.at(size_t(failedStep_ - 1)));
  }

  const Plan &plan_;
  HostKernels kernels_;
  ArenaAssignment arena_;
  std::vector<Tensor> values_, written_;
  int failedStep_ = 0;
};

} // namespace plumb::cudatest
