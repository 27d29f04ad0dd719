// The artifact format: round trip through a memory-mapped file and through memory (weights
// borrowed and 64-byte aligned), and every kind of damage refused with the right kind of
// error naming the file, never a crash.
#include "backends/cpu/CpuBackend.h"
#include "runtime/Artifact.h"
#include "runtime/Executor.h"
#include "tests/unit/ArtifactTestUtil.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <unistd.h>

namespace plumb {
namespace {

void expectSamePlan(const Plan &a, const Plan &b) {
  ASSERT_EQ(a.buffers.size(), b.buffers.size());
  for (size_t i = 0; i < a.buffers.size(); ++i) {
    const Buffer &x = a.buffers[i], &y = b.buffers[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.dtype, y.dtype);
    EXPECT_EQ(x.shape, y.shape);
    EXPECT_EQ(x.runTimeShape, y.runTimeShape) << x.name;
    if (x.kind == BufferKind::Constant) {
      ASSERT_EQ(x.constant.nbytes(), y.constant.nbytes());
      EXPECT_EQ(0, std::memcmp(x.constant.raw(), y.constant.raw(), x.constant.nbytes()));
      EXPECT_EQ(reinterpret_cast<uintptr_t>(y.constant.raw()) % 64, 0u) << y.name;
    }
  }
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (size_t i = 0; i < a.steps.size(); ++i) {
    EXPECT_EQ(a.steps[i].kernel, b.steps[i].kernel);
    EXPECT_EQ(a.steps[i].inputs, b.steps[i].inputs);
    EXPECT_EQ(a.steps[i].outputs, b.steps[i].outputs);
    EXPECT_EQ(a.steps[i].nodeNames, b.steps[i].nodeNames);
    EXPECT_EQ(a.steps[i].bodies.size(), b.steps[i].bodies.size());
  }
  const Tensor *t = b.steps[1].attrs.getTensor("unused_tensor_attr");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->toDoubles(), (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.outputs, b.outputs);
}

TEST(Artifact, RoundTripByMmapAndFromMemory) {
  Plan p = smallPlan();
  // An output its values size (NonZero's): the flag travels, and each run gives its shape.
  int nz = p.addOutput(DType::I64, {2, 1}, "nonzero");
  p.buffers[size_t(nz)].runTimeShape = true;
  p.addStep("ref.NonZero", {p.inputs[0]}, {nz}, "NonZero_2");
  std::string path = tempPath("rt.plumb");
  writeArtifact(path, p);
  Plan mapped = readArtifact(path);
  expectSamePlan(p, mapped);
  std::string bytes = readBytes(path);
  Plan fromMem = readArtifactFromMemory(bytes.data(), bytes.size(), "mem");
  bytes.assign(bytes.size(), '\0'); // the reader copied: clobbering the source is harmless
  expectSamePlan(p, fromMem);

  // The mapped weights outlive the file name and every other handle.
  std::remove(path.c_str());
  std::vector<float> x = {1, -2, 3, 0.5f, 0.25f, -1};
  Executor e(std::move(mapped), cpu::cpuKernelRegistry());
  std::vector<Tensor> out = e.run({Tensor::fromVector(DType::F32, {2, 3}, x)});
  std::vector<float> want = expected(p, x);
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(out[0].data<float>()[i], want[i], 1e-5) << i;
  EXPECT_EQ(out.at(1).shape(), (Shape{2, 6})); // every x is non-zero; the plan says 2x1
}

// Loads `bytes` written to a file; returns the error kind, or nullopt if it loaded.
std::optional<ArtifactError::Kind> loadKind(const std::string &bytes, std::string *message,
                                            bool verify = true) {
  std::string path = tempPath("damaged.plumb");
  writeBytes(path, bytes);
  ArtifactReadOptions opts;
  opts.verifyChecksum = verify;
  try {
    readArtifact(path, opts);
  } catch (const ArtifactError &e) {
    *message = e.what();
    EXPECT_NE(message->find(path), std::string::npos) << *message;
    EXPECT_EQ(message->find('\n'), std::string::npos) << *message;
    // The same bytes from memory fail the same way.
    try {
      readArtifactFromMemory(bytes.data(), bytes.size(), "mem", opts);
      ADD_FAILURE() << "loaded from memory but not from the file";
    } catch (const ArtifactError &m) {
      EXPECT_EQ(m.kind(), e.kind()) << m.what();
    }
    return e.kind();
  }
  return std::nullopt;
}

TEST(Artifact, DamageIsRefusedWithItsKind) {
  std::string path = tempPath("good.plumb");
  writeArtifact(path, smallPlan());
  std::string good = readBytes(path);
  std::string msg;
  using K = ArtifactError::Kind;

  EXPECT_EQ(loadKind(good.substr(0, good.size() - 1), &msg), K::Truncated);
  EXPECT_NE(msg.find("truncated artifact"), std::string::npos) << msg;
  EXPECT_EQ(loadKind(good.substr(0, 40), &msg), K::Truncated);
  EXPECT_EQ(loadKind(good + "x", &msg), K::Corrupt);

  std::string flipped = good;
  flipped[good.size() - 20] ^= 0x01; // a weight byte
  EXPECT_EQ(loadKind(flipped, &msg), K::Corrupt);
  EXPECT_NE(msg.find("checksum mismatch"), std::string::npos) << msg;
  // Without the checksum a flipped weight goes unnoticed (documented), but it still loads
  // safely.
  EXPECT_EQ(loadKind(flipped, &msg, false), std::nullopt);

  std::string version = good;
  version[8] = 1;
  EXPECT_EQ(loadKind(version, &msg), K::Version);
  EXPECT_NE(msg.find("format version 1, this plumb reads version 6"), std::string::npos) << msg;

  std::string magic = good;
  magic[0] = 'X';
  EXPECT_EQ(loadKind(magic, &msg), K::NotArtifact);
  EXPECT_EQ(loadKind("", &msg), K::NotArtifact);

  // A metadata count that points past the end, with a valid checksum: caught structurally.
  std::string count = good;
  uint64_t huge = 1ull << 40;
  std::memcpy(&count[64], &huge, 8);
  uint64_t h = artifactChecksum(count.data(), count.size());
  std::memcpy(&count[40], &h, 8);
  EXPECT_EQ(loadKind(count, &msg), K::Corrupt);
  EXPECT_NE(msg.find("implausible count"), std::string::npos) << msg;

  try {
    readArtifact(tempPath("does-not-exist.plumb"));
    ADD_FAILURE() << "loaded a missing file";
  } catch (const ArtifactError &e) {
    EXPECT_EQ(e.kind(), K::Io);
  }
  try {
    readArtifact(::testing::TempDir());
    ADD_FAILURE() << "loaded a directory";
  } catch (const ArtifactError &e) {
    EXPECT_EQ(e.kind(), K::Io);
  }
}

// Every single-byte corruption of the file is refused (the checksum covers the header too)
// and none crashes; with the checksum off, none crashes either.
TEST(Artifact, EveryByteFlipIsRefused) {
  std::string path = tempPath("flip.plumb");
  writeArtifact(path, smallPlan());
  std::string good = readBytes(path);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x5a;
    try {
      readArtifactFromMemory(bad.data(), bad.size(), "mem");
      ADD_FAILURE() << "byte " << i << " flipped and still loaded";
    } catch (const ArtifactError &) {
    }
    ArtifactReadOptions noCheck;
    noCheck.verifyChecksum = false;
    try {
      readArtifactFromMemory(bad.data(), bad.size(), "mem", noCheck);
    } catch (const ArtifactError &) {
    }
  }
}

} // namespace
} // namespace plumb
