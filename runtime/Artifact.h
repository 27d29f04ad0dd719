// The compiled-model file (`plumb compile -o MODEL.plumb`): a versioned, checksummed
// serialisation of a Plan whose weights are loaded by memory-mapping. MLIR-free.
#pragma once

#include "runtime/Error.h"
#include "runtime/Plan.h"

#include <cstddef>
#include <string>

namespace plumb {

// Format version 6 (little-endian; every offset is a file offset):
//   0  "PLUMBART"            8 bytes of magic
//   8  u32 format version    (kArtifactVersion; checked before anything else)
//  12  u32 reserved, 0
//  16  u64 metadata size M   (the metadata starts at byte 64)
//  24  u64 data offset D     (multiple of 64, >= 64 + M)
//  32  u64 data size S       (the file is exactly D + S bytes)
//  40  u64 checksum          (artifactChecksum of the whole file, this field read as 0)
//  48  16 reserved bytes, 0
//  64  metadata: buffers (kind, dtype, layout, flags (1: runTimeShape), shape, name, packing (runtime/Packing.h; empty
//      for plain data), and for constants the offset and size of their bytes in the data
//      section: the plain tensor's size, or for a packed one the packed bytes), steps (kernel, attributes, inputs, outputs, output
//      names, node names, opset, in-place input, control-flow bodies: each a plan written the
//      same way, its constants in the same data section), graph inputs and outputs
//   D  constant data: each constant starts at a multiple of 64 bytes from D, so that a
//      page-aligned mapping gives 64-byte-aligned weights
// Older versions are refused with a version message: 1 held the whole payload inline, 2 had no
// buffer layouts, 3 no packed constants, 4 no transformed ones (Packing.h's transform), 5 no
// buffer flags, no control-flow bodies, and CUDA kernels without the index-check parameters (a generated kernel whose
// step carries `index_checks` takes `int *plumb_status, int plumb_step` last; a version-5 reader
// would launch it without them).
inline constexpr uint32_t kArtifactVersion = 6;
inline constexpr size_t kArtifactAlignment = 64;
inline constexpr size_t kArtifactHeaderBytes = 64;

// What went wrong reading an artifact (the C API maps these to status codes). The message is
// one line, "PATH: problem".
class ArtifactError : public Error {
public:
  enum class Kind {
    Io,          // cannot open / map / read the file
    NotArtifact, // bad magic (or too short to hold a header)
    Version,     // a format version this build does not read
    Truncated,   // shorter than its header says
    Corrupt,     // checksum mismatch or inconsistent contents
    InvalidPlan, // well-formed file whose plan fails validatePlan
  };
  ArtifactError(Kind kind, const std::string &msg) : Error(msg), kind_(kind) {}
  Kind kind() const { return kind_; }

private:
  Kind kind_;
};

struct ArtifactReadOptions {
  // Hash the whole file before trusting it. This reads every page of the mapping once
  // (measured 4-5 GB/s on one core of the 2-core CI VM, where it is memory-bound: ~25 ms
  // per 100 MB of weights, plus the page faults of a cold file). Without it a corrupt
  // weight goes unnoticed; the structure is bounds-checked either way, so skipping it never
  // lets a bad file make the reader crash.
  bool verifyChecksum = true;
};

// Writes atomically (temporary file, then rename). Throws plumb::Error naming the file.
void writeArtifact(const std::string &path, const Plan &plan);

// Memory-maps `path` (read-only, private): constant buffers of the returned plan borrow the
// mapping, which stays alive as long as any of them does. Throws ArtifactError on a missing,
// truncated, corrupt or version-mismatched file; never reads out of bounds. (The mapping
// assumes the file is not truncated by someone else while mapped, as any mmap reader does.)
Plan readArtifact(const std::string &path, const ArtifactReadOptions &opts = {});

// The same from bytes in memory. They are copied once into 64-byte-aligned storage that the
// constants then borrow, so the caller may free `data` as soon as this returns. `label`
// names the source in error messages.
Plan readArtifactFromMemory(const void *data, size_t size, const std::string &label,
                            const ArtifactReadOptions &opts = {});

// The checksum stored at byte 40 of a file image of `size` (>= 64) bytes, computed with that
// field read as 0: four interleaved FNV-1a-style lanes over 64-bit little-endian words (tail
// bytes one at a time), then the lanes folded together. Every step is a bijection of the
// state, so a change confined to one 8-byte word always changes the result.
uint64_t artifactChecksum(const void *file, size_t size);

} // namespace plumb
