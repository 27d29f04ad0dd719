// Unit tests for the BufferPlanner: liveness from a Plan, non-overlap of buffers alive at the
// same time, reuse of freed memory, alignment and the reported peak.
#include "runtime/BufferPlanner.h"
#include "runtime/Error.h"

#include <gtest/gtest.h>

#include <random>

using namespace plumb;

namespace {

size_t alignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

// Checks the invariants every assignment must satisfy and returns nothing: aligned offsets,
// disjoint byte ranges for overlapping lifetimes, the peak covering every buffer.
void checkAssignment(const std::vector<BufferLifetime> &lts, const ArenaAssignment &a) {
  size_t top = 0;
  for (const BufferLifetime &x : lts) {
    int64_t off = a.offsets[size_t(x.id)];
    ASSERT_GE(off, 0) << "buffer " << x.id;
    EXPECT_EQ(size_t(off) % a.alignment, 0u) << "buffer " << x.id;
    top = std::max(top, size_t(off) + alignUp(x.bytes, a.alignment));
  }
  EXPECT_EQ(a.peakIntermediateBytes, top);
  EXPECT_GE(a.peakIntermediateBytes, a.liveLowerBoundBytes);
  for (size_t i = 0; i < lts.size(); ++i)
    for (size_t j = i + 1; j < lts.size(); ++j) {
      const BufferLifetime &p = lts[i], &q = lts[j];
      if (p.last < q.first || q.last < p.first || p.bytes == 0 || q.bytes == 0)
        continue;
      size_t p0 = size_t(a.offsets[size_t(p.id)]), q0 = size_t(a.offsets[size_t(q.id)]);
      bool disjoint = p0 + p.bytes <= q0 || q0 + q.bytes <= p0;
      EXPECT_TRUE(disjoint) << "buffers " << p.id << " [" << p.first << "," << p.last << "] and "
                            << q.id << " [" << q.first << "," << q.last << "] overlap in memory";
    }
}

TEST(BufferPlanner, ChainReusesMemoryOfDeadBuffers) {
  // t0 lives over steps 0-1, t1 over 1-2, t2 over 2-3: t2 can take t0's place.
  std::vector<BufferLifetime> lts{{0, 1000, 0, 1}, {1, 1000, 1, 2}, {2, 1000, 2, 3}};
  ArenaAssignment a = assignArena(lts, 3);
  checkAssignment(lts, a);
  EXPECT_EQ(a.offsets[0], a.offsets[2]);
  EXPECT_NE(a.offsets[0], a.offsets[1]);
  EXPECT_EQ(a.peakIntermediateBytes, 2048u);
  EXPECT_EQ(a.liveLowerBoundBytes, 2048u);
}

TEST(BufferPlanner, SmallBuffersFillTheHoleOfALargeDeadOne) {
  std::vector<BufferLifetime> lts{{0, 4096, 0, 1}, {1, 1024, 2, 3}, {2, 1024, 2, 3}, {3, 64, 1, 2}};
  ArenaAssignment a = assignArena(lts, 4);
  checkAssignment(lts, a);
  EXPECT_EQ(a.peakIntermediateBytes, 4096u + 64u);
}

TEST(BufferPlanner, OffsetsFollowTheAlignment) {
  std::vector<BufferLifetime> lts{{0, 1, 0, 0}, {1, 3, 0, 0}, {2, 65, 0, 0}};
  ArenaAssignment a64 = assignArena(lts, 3, 64);
  checkAssignment(lts, a64);
  EXPECT_EQ(a64.peakIntermediateBytes, 64u + 64u + 128u);
  ArenaAssignment a256 = assignArena(lts, 3, 256);
  checkAssignment(lts, a256);
  EXPECT_EQ(a256.peakIntermediateBytes, 3 * 256u);
  EXPECT_THROW(assignArena(lts, 3, 48), Error);
}

TEST(BufferPlanner, RandomLifetimesNeverOverlap) {
  for (unsigned seed = 0; seed < 50; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::vector<BufferLifetime> lts;
    int n = 5 + int(rng() % 40);
    for (int id = 0; id < n; ++id) {
      int first = int(rng() % 30);
      int last = first + int(rng() % 8);
      size_t bytes = rng() % 5 == 0 ? 0 : 1 + rng() % 5000;
      lts.push_back({id, bytes, first, last});
    }
    ArenaAssignment a = assignArena(lts, size_t(n));
    checkAssignment(lts, a);
    // Greedy by size is not optimal, but should stay near the bound on such inputs.
    EXPECT_LE(a.peakIntermediateBytes, 2 * a.liveLowerBoundBytes + 5056);
  }
}

// in -> s0 -> t0 -> s1 -> t1 -> s2 (also reads t0) -> out, with a constant and an unused
// intermediate output of s1.
Plan smallPlan() {
  Plan p;
  int in = p.addInput(DType::F32, {4, 8}, "x");
  int w = p.addConstant("w", Tensor::zeros(DType::F32, {4, 8}));
  int t0 = p.addBuffer(BufferKind::Intermediate, DType::F32, {4, 8}, "t0");
  int t1 = p.addBuffer(BufferKind::Intermediate, DType::F32, {4, 8}, "t1");
  int dead = p.addBuffer(BufferKind::Intermediate, DType::F32, {100}, "dead");
  int never = p.addBuffer(BufferKind::Intermediate, DType::F32, {7}, "never_written");
  int out = p.addOutput(DType::F32, {4, 8}, "y");
  p.addStep("k.a", {in, w}, {t0});
  p.addStep("k.b", {t0}, {t1, dead});
  p.addStep("k.c", {t1, t0}, {out});
  (void)never;
  return p;
}

TEST(BufferPlanner, LifetimesFromAPlan) {
  Plan p = smallPlan();
  validatePlan(p);
  std::vector<BufferLifetime> lts = intermediateLifetimes(p);
  ASSERT_EQ(lts.size(), 3u); // t0, t1, dead; not x, w, y or the never-written buffer
  EXPECT_EQ(lts[0].id, 2);
  EXPECT_EQ(lts[0].first, 0);
  EXPECT_EQ(lts[0].last, 2); // read again by step 2
  EXPECT_EQ(lts[1].first, 1);
  EXPECT_EQ(lts[1].last, 2);
  EXPECT_EQ(lts[2].first, 1); // dead: written, never read
  EXPECT_EQ(lts[2].last, 1);
  EXPECT_EQ(lts[2].bytes, 400u);
  ArenaAssignment a = planBuffers(p);
  checkAssignment(lts, a);
  EXPECT_EQ(a.offsets[0], -1);
  EXPECT_EQ(a.offsets[5], -1);
  EXPECT_EQ(a.peakIntermediateBytes, 128u + 128u + 448u);
}

TEST(PlanValidation, RejectsReadsBeforeWritesAndDoubleWrites) {
  Plan p = smallPlan();
  std::swap(p.steps[0], p.steps[1]);
  EXPECT_THROW(validatePlan(p), Error);
  Plan q = smallPlan();
  q.steps[1].outputs[0] = 2; // t0 written twice
  EXPECT_THROW(validatePlan(q), Error);
  Plan r = smallPlan();
  r.buffers[1].constant = Tensor::zeros(DType::F32, {8, 4}); // wrong constant shape
  EXPECT_THROW(validatePlan(r), Error);
  Plan n = smallPlan();
  n.steps[1].outputNames = {"only_one"}; // two outputs
  EXPECT_THROW(validatePlan(n), Error);
}

} // namespace

// In-place outputs (Step::inPlaceInput): x -> a -> b = f(a, residual r) where r dies at b's
// step, then c = g(b, r2) in place of b: the chain r -> b -> c shares one range, and every
// buffer alive at the same time as it stays disjoint from it.
namespace inplace {

Plan residualChain(bool rReadLater) {
  Plan p;
  int x = p.addInput(DType::F32, {1, 16, 4, 4}, "x");
  int r = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16, 4, 4}, "r");
  int a = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16, 4, 4}, "a");
  int b = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16, 4, 4}, "b");
  int r2 = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16, 4, 4}, "r2");
  int c = p.addBuffer(BufferKind::Intermediate, DType::F32, {1, 16, 4, 4}, "c");
  int y = p.addOutput(DType::F32, {1, 16, 4, 4}, "y");
  p.addStep("k", {x}, {r});
  p.addStep("k", {x}, {a});
  p.addStep("k", {a, r}, {b}).inPlaceInput = 1;
  p.addStep("k", {x}, {r2});
  p.addStep("k", {r2, b}, {c}).inPlaceInput = 1;
  p.addStep("k", rReadLater ? std::vector<int>{c, r} : std::vector<int>{c}, {y});
  validatePlan(p);
  return p;
}

TEST(BufferPlanner, InPlaceChainsShareOneRange) {
  Plan p = residualChain(false);
  std::vector<int> alias = inPlaceAliases(p);
  EXPECT_EQ(alias[3], 1); // b takes r's memory
  EXPECT_EQ(alias[5], 1); // c takes b's, which is r's
  ArenaAssignment a = planBuffers(p);
  EXPECT_EQ(a.offsets[1], a.offsets[3]);
  EXPECT_EQ(a.offsets[1], a.offsets[5]);
  // a and r2 are alive while the chain is: their ranges must not touch it.
  for (int other : {2, 4})
    EXPECT_NE(a.offsets[size_t(other)], a.offsets[1]) << other;
  EXPECT_EQ(a.peakIntermediateBytes, 2 * 1024u); // the chain plus a or r2 at any one time
}

TEST(BufferPlanner, InPlaceNeedsTheInputToDieThereWithTheSameTypeAndLayout) {
  Plan later = residualChain(true); // r is read again after b's step
  EXPECT_EQ(inPlaceAliases(later)[3], -1);
  Plan layout = residualChain(false);
  layout.buffers[3].layout = Layout::ChannelBlocked;
  EXPECT_EQ(inPlaceAliases(layout)[3], -1);
  Plan size = residualChain(false);
  size.buffers[3].shape = {1, 16, 4, 2};
  EXPECT_EQ(inPlaceAliases(size)[3], -1);
  Plan input = residualChain(false); // a graph input's memory is the caller's
  input.steps[2].inputs[1] = 0;
  EXPECT_EQ(inPlaceAliases(input)[3], -1);
  Plan bad = residualChain(false);
  bad.steps[2].inPlaceInput = 2;
  EXPECT_THROW(validatePlan(bad), Error);
}

} // namespace inplace
