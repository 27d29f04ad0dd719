// The C API (include/plumb/plumb.h): sessions from a file and from memory, queries, runs
// checked against a hand computation, and every error path returning its status and a
// one-line message naming the file, with nothing left in the out-parameter.
#include "plumb/plumb.h"

#include "runtime/Artifact.h"
#include "tests/unit/ArtifactTestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <thread>

namespace plumb {
namespace {

std::string goodArtifact() {
  std::string path = tempPath("capi_good.plumb");
  writeArtifact(path, smallPlan());
  return path;
}

plumb_tensor tensorOf(const plumb_tensor_info &info, void *data) {
  plumb_tensor t;
  t.dtype = info.dtype;
  t.rank = info.rank;
  t.shape = info.shape;
  t.data = data;
  t.size_bytes = info.size_bytes;
  return t;
}

// Runs the small plan's session on x; returns y.
std::vector<float> runSmall(plumb_session *s, const std::vector<float> &x, plumb_status *st) {
  plumb_tensor_info in, out;
  EXPECT_EQ(plumb_session_input_info(s, 0, &in), PLUMB_OK);
  EXPECT_EQ(plumb_session_output_info(s, 0, &out), PLUMB_OK);
  std::vector<float> y(8, -1.0f);
  plumb_tensor ti = tensorOf(in, const_cast<float *>(x.data()));
  plumb_tensor to = tensorOf(out, y.data());
  *st = plumb_session_run(s, &ti, 1, &to, 1);
  return y;
}

TEST(CApi, CreateQueryRun) {
  EXPECT_NE(std::string(plumb_version()).find("artifact format 6"), std::string::npos);
  plumb_session *s = nullptr;
  ASSERT_EQ(plumb_session_create_from_file(goodArtifact().c_str(), nullptr, &s), PLUMB_OK)
      << plumb_last_error();
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(plumb_last_error(), "");
  ASSERT_EQ(plumb_session_input_count(s), 1u);
  ASSERT_EQ(plumb_session_output_count(s), 1u);
  plumb_tensor_info in, out;
  ASSERT_EQ(plumb_session_input_info(s, 0, &in), PLUMB_OK);
  ASSERT_EQ(plumb_session_output_info(s, 0, &out), PLUMB_OK);
  EXPECT_STREQ(in.name, "x");
  EXPECT_EQ(in.dtype, PLUMB_F32);
  ASSERT_EQ(in.rank, 2u);
  EXPECT_EQ(in.shape[0], 2);
  EXPECT_EQ(in.shape[1], 3);
  EXPECT_EQ(in.size_bytes, 24u);
  EXPECT_STREQ(out.name, "y");
  EXPECT_EQ(out.size_bytes, 32u);
  EXPECT_STREQ(plumb_dtype_name(out.dtype), "f32");
  EXPECT_EQ(plumb_dtype_size(PLUMB_F16), 2u);

  std::vector<float> x = {1, -2, 3, 0.5f, 0.25f, -1};
  plumb_status st;
  std::vector<float> y = runSmall(s, x, &st);
  ASSERT_EQ(st, PLUMB_OK) << plumb_last_error();
  std::vector<float> want = expected(smallPlan(), x);
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(y[i], want[i], 1e-5) << i;
  plumb_session_destroy(s);
  plumb_session_destroy(nullptr);
}

TEST(CApi, CreateFromMemoryCopies) {
  std::string bytes = readBytes(goodArtifact());
  plumb_options opts;
  plumb_options_init(&opts);
  opts.num_threads = 1;
  plumb_session *s = nullptr;
  // An odd address: the library must not rely on the caller's alignment.
  std::string shifted = " " + bytes;
  ASSERT_EQ(plumb_session_create_from_memory(shifted.data() + 1, bytes.size(), &opts, &s), PLUMB_OK)
      << plumb_last_error();
  shifted.assign(shifted.size(), '\xff'); // documented: the session keeps its own copy
  std::vector<float> x = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, 0.6f};
  plumb_status st;
  std::vector<float> y = runSmall(s, x, &st);
  ASSERT_EQ(st, PLUMB_OK) << plumb_last_error();
  std::vector<float> want = expected(smallPlan(), x);
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(y[i], want[i], 1e-5) << i;
  plumb_session_destroy(s);
}

// max_concurrent_runs: 0 resolves to the hardware thread count, a positive value is kept, a
// negative one is refused. (CApiConcurrency hammers a capped session from more threads.)
TEST(CApi, ConcurrentRunCap) {
  plumb_options opts;
  plumb_options_init(&opts);
  EXPECT_EQ(opts.max_concurrent_runs, 0);
  plumb_session *s = nullptr;
  ASSERT_EQ(plumb_session_create_from_file(goodArtifact().c_str(), &opts, &s), PLUMB_OK)
      << plumb_last_error();
  EXPECT_EQ(plumb_session_max_concurrent_runs(s),
            std::max<size_t>(1, std::thread::hardware_concurrency()));
  plumb_session_destroy(s);
  opts.max_concurrent_runs = 3;
  ASSERT_EQ(plumb_session_create_from_file(goodArtifact().c_str(), &opts, &s), PLUMB_OK);
  EXPECT_EQ(plumb_session_max_concurrent_runs(s), 3u);
  plumb_session_destroy(s);
  opts.max_concurrent_runs = -1;
  EXPECT_EQ(plumb_session_create_from_file(goodArtifact().c_str(), &opts, &s),
            PLUMB_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  EXPECT_NE(std::string(plumb_last_error()).find("max_concurrent_runs < 0"), std::string::npos);
  EXPECT_EQ(plumb_session_max_concurrent_runs(nullptr), 0u);
}

// Writes `bytes` to a file, creates a session from it and from memory; both must fail with
// `want`, a one-line message naming the file, and a NULL session.
void expectRefused(const std::string &bytes, plumb_status want, const std::string &phrase) {
  std::string path = tempPath("capi_bad.plumb");
  writeBytes(path, bytes);
  plumb_session *s = reinterpret_cast<plumb_session *>(&s); // junk that must be overwritten
  EXPECT_EQ(plumb_session_create_from_file(path.c_str(), nullptr, &s), want) << plumb_last_error();
  EXPECT_EQ(s, nullptr);
  std::string msg = plumb_last_error();
  EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find(phrase), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  s = reinterpret_cast<plumb_session *>(&s);
  EXPECT_EQ(plumb_session_create_from_memory(bytes.data(), bytes.size(), nullptr, &s), want);
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(std::string(plumb_last_error()).rfind("<memory>: ", 0), 0u) << plumb_last_error();
}

TEST(CApi, BadArtifactsGiveTheirStatus) {
  std::string good = readBytes(goodArtifact());
  expectRefused(good.substr(0, good.size() / 2), PLUMB_ERROR_TRUNCATED, "truncated artifact");
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x10;
  expectRefused(flipped, PLUMB_ERROR_CORRUPT, "checksum mismatch");
  std::string version = good;
  version[8] = 99;
  expectRefused(version, PLUMB_ERROR_VERSION_MISMATCH, "artifact format version 99");
  expectRefused("GARBAGE GARBAGE GARBAGE", PLUMB_ERROR_NOT_ARTIFACT, "not a plumb artifact");

  plumb_session *s = nullptr;
  std::string missing = tempPath("capi_missing.plumb");
  EXPECT_EQ(plumb_session_create_from_file(missing.c_str(), nullptr, &s), PLUMB_ERROR_IO);
  EXPECT_NE(std::string(plumb_last_error()).find(missing + ": cannot open file"), std::string::npos)
      << plumb_last_error();
  EXPECT_EQ(plumb_session_create_from_file(nullptr, nullptr, &s), PLUMB_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(plumb_session_create_from_file(missing.c_str(), nullptr, nullptr),
            PLUMB_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(plumb_status_name(PLUMB_ERROR_VERSION_MISMATCH), "PLUMB_ERROR_VERSION_MISMATCH");
}

TEST(CApi, KernelsThatCannotPrepareAreUnsupported) {
  Plan p = smallPlan();
  p.steps[0].kernel = "cpu.no_such_kernel";
  std::string path = tempPath("capi_unsupported.plumb");
  writeArtifact(path, p);
  plumb_session *s = nullptr;
  EXPECT_EQ(plumb_session_create_from_file(path.c_str(), nullptr, &s), PLUMB_ERROR_UNSUPPORTED);
  EXPECT_EQ(s, nullptr);
  EXPECT_NE(std::string(plumb_last_error()).find("no kernel named 'cpu.no_such_kernel'"),
            std::string::npos)
      << plumb_last_error();
}

TEST(CApi, RunChecksEveryArgument) {
  plumb_session *s = nullptr;
  ASSERT_EQ(plumb_session_create_from_file(goodArtifact().c_str(), nullptr, &s), PLUMB_OK);
  plumb_tensor_info in, out;
  plumb_session_input_info(s, 0, &in);
  plumb_session_output_info(s, 0, &out);
  std::vector<float> x(6, 1.0f), y(8);
  plumb_tensor ti = tensorOf(in, x.data()), to = tensorOf(out, y.data());
  auto expectInvalid = [&](const plumb_tensor &i, const plumb_tensor &o, const char *phrase) {
    EXPECT_EQ(plumb_session_run(s, &i, 1, &o, 1), PLUMB_ERROR_INVALID_ARGUMENT) << phrase;
    EXPECT_NE(std::string(plumb_last_error()).find(phrase), std::string::npos)
        << plumb_last_error();
  };
  plumb_tensor bad = ti;
  bad.dtype = PLUMB_F64;
  expectInvalid(bad, to, "input 0 ('x') must be f32[2x3], got f64[2x3]");
  int64_t wrongShape[2] = {3, 2};
  bad = ti;
  bad.shape = wrongShape;
  expectInvalid(bad, to, "got f32[3x2]");
  bad = to;
  bad.size_bytes = 31;
  expectInvalid(ti, bad, "output 0 ('y') has 31 bytes, needs 32");
  bad = ti;
  bad.data = nullptr;
  expectInvalid(bad, to, "has no data");
  bad = ti;
  bad.data = reinterpret_cast<char *>(x.data()) + 1;
  expectInvalid(bad, to, "not aligned");
  EXPECT_EQ(plumb_session_run(s, &ti, 2, &to, 1), PLUMB_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(plumb_session_run(s, nullptr, 1, &to, 1), PLUMB_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(plumb_session_run(nullptr, &ti, 1, &to, 1), PLUMB_ERROR_INVALID_ARGUMENT);
  plumb_tensor_info info;
  EXPECT_EQ(plumb_session_input_info(s, 1, &info), PLUMB_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(plumb_session_output_info(s, 0, nullptr), PLUMB_ERROR_INVALID_ARGUMENT);
  // After all that, a good run still works.
  EXPECT_EQ(plumb_session_run(s, &ti, 1, &to, 1), PLUMB_OK) << plumb_last_error();
  plumb_session_destroy(s);
}

// x [2, 3] -> ref.NonZero -> nz (an output whose shape its values decide), and
// x -> ref.Relu -> relu; stored with the sample shape of 4 non-zeros.
std::string nonZeroArtifact() {
  Plan p;
  int x = p.addInput(DType::F32, {2, 3}, "x");
  int nz = p.addOutput(DType::I64, {2, 4}, "nz");
  p.buffers[size_t(nz)].runTimeShape = true;
  int relu = p.addOutput(DType::F32, {2, 3}, "relu");
  p.addStep("ref.NonZero", {x}, {nz}, "nonzero");
  p.addStep("ref.Relu", {x}, {relu}, "relu");
  std::string path = tempPath("capi_nonzero.plumb");
  writeArtifact(path, p);
  return path;
}

// plumb_session_run_alloc gives each output the shape its run gives it (NonZero's count
// differs run to run); plumb_session_run refuses the model, naming the output; the run-time
// flag and the errors of the new calls.
TEST(CApi, RunAllocGivesEachRunsShapes) {
  plumb_session *s = nullptr;
  ASSERT_EQ(plumb_session_create_from_file(nonZeroArtifact().c_str(), nullptr, &s), PLUMB_OK)
      << plumb_last_error();
  EXPECT_EQ(plumb_session_output_is_run_time(s, 0), 1);
  EXPECT_EQ(plumb_session_output_is_run_time(s, 1), 0);
  EXPECT_EQ(plumb_session_output_is_run_time(s, 2), 0);
  EXPECT_EQ(plumb_session_output_is_run_time(nullptr, 0), 0);
  plumb_tensor_info in;
  ASSERT_EQ(plumb_session_input_info(s, 0, &in), PLUMB_OK);
  for (const std::vector<float> &x : {std::vector<float>{1, 0, 2, 0, 0, -3},
                                      std::vector<float>{0, 0, 0, 0, 0, 0},
                                      std::vector<float>{1, 1, 1, 1, 1, 1}}) {
    plumb_tensor ti = tensorOf(in, const_cast<float *>(x.data()));
    plumb_value *out[2] = {nullptr, nullptr};
    ASSERT_EQ(plumb_session_run_alloc(s, &ti, 1, out, 2), PLUMB_OK) << plumb_last_error();
    // NonZero's [rank, count] of the x given, by hand: row indices, then column indices.
    std::vector<int64_t> rows, cols;
    for (int64_t i = 0; i < 6; ++i)
      if (x[size_t(i)] != 0) {
        rows.push_back(i / 3);
        cols.push_back(i % 3);
      }
    plumb_tensor_info info;
    ASSERT_EQ(plumb_value_info(out[0], &info), PLUMB_OK);
    EXPECT_STREQ(info.name, "nz");
    EXPECT_EQ(info.dtype, PLUMB_I64);
    ASSERT_EQ(info.rank, 2u);
    EXPECT_EQ(info.shape[0], 2);
    ASSERT_EQ(info.shape[1], int64_t(rows.size()));
    EXPECT_EQ(info.size_bytes, 2 * rows.size() * sizeof(int64_t));
    const auto *nz = static_cast<const int64_t *>(plumb_value_data(out[0]));
    rows.insert(rows.end(), cols.begin(), cols.end());
    EXPECT_EQ(std::vector<int64_t>(nz, nz + rows.size()), rows);
    ASSERT_EQ(plumb_value_info(out[1], &info), PLUMB_OK);
    EXPECT_STREQ(info.name, "relu");
    ASSERT_EQ(info.size_bytes, 24u);
    const auto *relu = static_cast<const float *>(plumb_value_data(out[1]));
    for (size_t i = 0; i < 6; ++i)
      EXPECT_EQ(relu[i], std::max(x[i], 0.0f)) << i;
    plumb_value_release(out[0]);
    plumb_value_release(out[1]);
  }
  plumb_value_release(nullptr);
  EXPECT_EQ(plumb_value_data(nullptr), nullptr);
  EXPECT_EQ(plumb_value_info(nullptr, nullptr), PLUMB_ERROR_INVALID_ARGUMENT);

  std::vector<float> x(6, 1.0f);
  plumb_tensor ti = tensorOf(in, x.data());
  plumb_value *out[2] = {reinterpret_cast<plumb_value *>(&x), reinterpret_cast<plumb_value *>(&x)};
  EXPECT_EQ(plumb_session_run_alloc(s, &ti, 1, out, 1), PLUMB_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(out[0], nullptr) << "a failed call leaves no value";
  EXPECT_EQ(plumb_session_run_alloc(nullptr, &ti, 1, out, 2), PLUMB_ERROR_INVALID_ARGUMENT);
  std::vector<double> wrong(6);
  plumb_tensor bad = ti;
  bad.dtype = PLUMB_F64;
  bad.data = wrong.data();
  out[1] = reinterpret_cast<plumb_value *>(&x);
  EXPECT_EQ(plumb_session_run_alloc(s, &bad, 1, out, 2), PLUMB_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(out[1], nullptr);
  EXPECT_NE(std::string(plumb_last_error()).find("plumb_session_run_alloc: input 0 ('x')"),
            std::string::npos)
      << plumb_last_error();

  // Storage given in advance cannot take an output whose shape the run decides.
  plumb_tensor_info o0, o1;
  ASSERT_EQ(plumb_session_output_info(s, 0, &o0), PLUMB_OK);
  ASSERT_EQ(plumb_session_output_info(s, 1, &o1), PLUMB_OK);
  std::vector<int64_t> nzBuf(8);
  std::vector<float> reluBuf(6);
  plumb_tensor to[2] = {tensorOf(o0, nzBuf.data()), tensorOf(o1, reluBuf.data())};
  EXPECT_EQ(plumb_session_run(s, &ti, 1, to, 2), PLUMB_ERROR_RUNTIME);
  EXPECT_NE(std::string(plumb_last_error()).find("output 'nz' has a shape its values decide"),
            std::string::npos)
      << plumb_last_error();
  plumb_session_destroy(s);
}

TEST(CApi, LastErrorIsPerThread) {
  plumb_session *s = nullptr;
  std::string missing = tempPath("capi_missing.plumb");
  ASSERT_EQ(plumb_session_create_from_file(missing.c_str(), nullptr, &s), PLUMB_ERROR_IO);
  std::string other;
  std::thread t([&] {
    other = plumb_last_error();
    plumb_session_create_from_file(nullptr, nullptr, &s);
  });
  t.join();
  EXPECT_EQ(other, "");
  EXPECT_NE(std::string(plumb_last_error()).find(missing), std::string::npos);
}

} // namespace
} // namespace plumb
