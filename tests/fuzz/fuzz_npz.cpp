// libFuzzer target: the .npz reader (libzip + .npy members) must reject any file cleanly.
#include "frontend/tensorio/TensorIO.h"
#include "runtime/Error.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // readNpz takes a path: write the input to a per-process temporary file.
  static const std::string path = [] {
    std::string p = "/tmp/plumb_fuzz_" + std::to_string(getpid()) + ".npz";
    std::atexit([] { std::remove(("/tmp/plumb_fuzz_" + std::to_string(getpid()) + ".npz").c_str()); });
    return p;
  }();
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    plumb::NamedTensors t = plumb::readNpz(path);
    (void)t.size();
  } catch (const plumb::Error &) {
  }
  return 0;
}
