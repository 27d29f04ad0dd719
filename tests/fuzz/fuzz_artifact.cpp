// libFuzzer target: the artifact reader must reject any bytes with plumb::Error, never crash
// or read outside the image. Each input is read twice: as given (header, size and checksum
// checks), and with checksum verification off so that mutations reach the metadata parser
// and the plan validation instead of stopping at the checksum.
#include "runtime/Artifact.h"

#include <cstddef>
#include <cstdint>

namespace {

// Touch every byte a successfully read plan points at, so that ASan sees any view that
// reaches past the image.
void touch(const plumb::Plan &plan) {
  volatile uint8_t sink = 0;
  for (const plumb::Buffer &b : plan.buffers) {
    if (!b.constant.defined())
      continue;
    const auto *p = static_cast<const uint8_t *>(b.constant.raw());
    for (size_t i = 0; i < b.constant.nbytes(); ++i)
      sink = sink ^ p[i];
  }
  (void)sink;
}

void readOnce(const uint8_t *data, size_t size, bool verify) {
  plumb::ArtifactReadOptions opts;
  opts.verifyChecksum = verify;
  try {
    touch(plumb::readArtifactFromMemory(data, size, "fuzz.plumb", opts));
  } catch (const plumb::Error &) {
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  readOnce(data, size, true);
  readOnce(data, size, false);
  return 0;
}
