// compileKernel: NVRTC to CUBIN and PTX, cached on disk (atomic rename, so concurrent
// compiles never see half a file).
#include "backends/cuda/codegen/Nvrtc.h"
#include "backends/cuda/libs/CudaLibs.h"

#include "runtime/Error.h"

#include <nvrtc.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace plumb::cuda {
namespace {

std::string includeDir() {
  if (const char *env = std::getenv("PLUMB_CUDA_INCLUDE"))
    return env;
  return PLUMB_CUDA_INCLUDE_DIR; // set by CMake from the toolkit found at build time
}

std::string firstErrorLine(const std::string &log) {
  std::istringstream in(log);
  std::string line, first;
  while (std::getline(in, line)) {
    if (first.empty() && !line.empty())
      first = line;
    if (line.find("error") != std::string::npos)
      return line;
  }
  return first.empty() ? "no log" : first;
}

struct Program {
  nvrtcProgram p = nullptr;
  ~Program() {
    if (p)
      nvrtc().nvrtcDestroyProgram(&p);
  }
};

std::string compileOne(const std::string &source, const std::string &label, const std::string &arch,
                       bool cubin) {
  Program prog;
  if (nvrtc().nvrtcCreateProgram(&prog.p, source.c_str(), "plumb_kernel.cu", 0, nullptr, nullptr) !=
      NVRTC_SUCCESS)
    throw Error("cuda codegen: NVRTC could not create a program for " + label);
  std::string archOpt = "--gpu-architecture=" + arch, inc = "-I" + includeDir();
  // No fast math: f32 parity with the reference needs IEEE division, sqrt and expf.
  std::vector<const char *> opts = {archOpt.c_str(), "--std=c++17", "-default-device",
                                    inc.c_str()};
  nvrtcResult r = nvrtc().nvrtcCompileProgram(prog.p, int(opts.size()), opts.data());
  if (r != NVRTC_SUCCESS) {
    size_t n = 0;
    nvrtc().nvrtcGetProgramLogSize(prog.p, &n);
    std::string log(n, '\0');
    if (n)
      nvrtc().nvrtcGetProgramLog(prog.p, log.data());
    throw Error("cuda codegen: NVRTC rejected the kernel for " + label + " (" + arch +
                "): " + firstErrorLine(log));
  }
  size_t n = 0;
  std::string out;
  if (cubin) {
    nvrtc().nvrtcGetCUBINSize(prog.p, &n);
    out.resize(n);
    nvrtc().nvrtcGetCUBIN(prog.p, out.data());
  } else {
    nvrtc().nvrtcGetPTXSize(prog.p, &n);
    out.resize(n);
    nvrtc().nvrtcGetPTX(prog.p, out.data());
    while (!out.empty() && out.back() == '\0')
      out.pop_back();
  }
  return out;
}

bool readFile(const fs::path &p, std::string &out) {
  std::ifstream in(p, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return !out.empty();
}

void writeAtomically(const fs::path &p, const std::string &data) {
  fs::path tmp = p;
  tmp += ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(data.data(), std::streamsize(data.size()));
    if (!out)
      return; // a cache that cannot be written is not an error
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec)
    fs::remove(tmp, ec);
}

} // namespace

std::string nvrtcVersion() {
  int major = 0, minor = 0;
  nvrtc().nvrtcVersion(&major, &minor);
  return std::to_string(major) + "." + std::to_string(minor);
}

std::string sourceHash(const std::string &text) {
  uint64_t a = 1469598103934665603ull, b = 0x9e3779b97f4a7c15ull;
  for (unsigned char c : text) {
    a = (a ^ c) * 1099511628211ull;
    b = (b ^ c) * 0x100000001b3ull + 0x7f4a7c15ull;
    b ^= b >> 29;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
  return buf;
}

std::string nvrtcCacheDir(const NvrtcOptions &opts) {
  if (!opts.cacheDir.empty())
    return opts.cacheDir;
  if (const char *d = std::getenv("PLUMB_CACHE_DIR"))
    return std::string(d) + "/nvrtc";
  if (const char *d = std::getenv("XDG_CACHE_HOME"))
    return std::string(d) + "/plumb/nvrtc";
  if (const char *h = std::getenv("HOME"))
    return std::string(h) + "/.cache/plumb/nvrtc";
  return "-";
}

CompiledKernel compileKernel(const std::string &source, const std::string &label,
                             const NvrtcOptions &opts) {
  std::string key = sourceHash(source + '\0' + opts.cubinArch + '\0' + opts.ptxArch + '\0' +
                               includeDir() + '\0' + nvrtcVersion());
  std::string dir = nvrtcCacheDir(opts);
  CompiledKernel k;
  fs::path base = dir == "-" ? fs::path() : fs::path(dir) / key;
  if (dir != "-" && readFile(fs::path(base) += ".cubin", k.cubin) &&
      readFile(fs::path(base) += ".ptx", k.ptx)) {
    k.fromCache = true;
    return k;
  }
  k.cubin = compileOne(source, label, opts.cubinArch, /*cubin=*/true);
  k.ptx = compileOne(source, label, opts.ptxArch, /*cubin=*/false);
  if (dir != "-") {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (!ec) {
      writeAtomically(fs::path(base) += ".cubin", k.cubin);
      writeAtomically(fs::path(base) += ".ptx", k.ptx);
    }
  }
  return k;
}

} // namespace plumb::cuda
