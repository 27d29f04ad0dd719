// Tests for tensor files (.npy, .npz, folders of .npy, ONNX TensorProto) and the
// half/bfloat16 conversions they depend on.
#include "frontend/tensorio/TensorIO.h"
#include "frontend/tensorio/TensorProto.h"
#include "runtime/Error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

using namespace plumb;
namespace fs = std::filesystem;

namespace {

const std::string kFixtures = std::string(PLUMB_SOURCE_DIR) + "/tests/data/tensorio/";
const std::string kOnnxAbs = "/usr/share/libonnx-testdata/data/node/test_abs/test_data_set_0/";

const DType kAllDTypes[] = {DType::F32, DType::F16, DType::BF16, DType::F64,  DType::I64,
                            DType::I32, DType::I8,  DType::U8,   DType::Bool, DType::I16,
                            DType::U16, DType::U32, DType::U64};
const Shape kShapes[] = {{}, {0}, {5}, {2, 3}, {2, 0, 4}, {1, 2, 3, 4}};

// Deterministic contents that are valid for every dtype (bool bytes must be 0 or 1).
Tensor patterned(DType dtype, Shape shape, unsigned seed = 1) {
  Tensor t = Tensor::zeros(dtype, std::move(shape));
  auto *p = static_cast<uint8_t *>(t.mutableRaw());
  std::mt19937 rng(seed);
  for (size_t i = 0; i < t.nbytes(); ++i)
    p[i] = dtype == DType::Bool ? uint8_t(rng() & 1) : uint8_t(rng());
  return t;
}

::testing::AssertionResult sameTensor(const Tensor &a, const Tensor &b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape())
    return ::testing::AssertionFailure() << a.describe() << " vs " << b.describe();
  if (a.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) != 0)
    return ::testing::AssertionFailure() << a.describe() << ": contents differ";
  return ::testing::AssertionSuccess();
}

std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// Runs `fn` and checks that it throws one plumb::Error whose single-line message starts
// with "PREFIX: " and contains `needle`.
template <typename Fn>
::testing::AssertionResult throwsError(Fn fn, const std::string &prefix,
                                       const std::string &needle = "") {
  try {
    fn();
  } catch (const Error &e) {
    std::string msg = e.what();
    if (msg.rfind(prefix + ": ", 0) != 0)
      return ::testing::AssertionFailure()
             << "'" << msg << "' does not start with '" << prefix << ": '";
    if (msg.find('\n') != std::string::npos)
      return ::testing::AssertionFailure() << "message has several lines: " << msg;
    if (msg.find(needle) == std::string::npos)
      return ::testing::AssertionFailure() << "'" << msg << "' does not mention '" << needle << "'";
    return ::testing::AssertionSuccess() << msg;
  } catch (const std::exception &e) {
    return ::testing::AssertionFailure() << "threw a non-plumb exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

#define EXPECT_ERROR(stmt, ...) EXPECT_TRUE(throwsError([&] { (void)(stmt); }, __VA_ARGS__))

// A .npy file with a hand-written header (format 1.0) followed by `data`.
std::string npyBytes(const std::string &header, const std::string &data, int major = 1) {
  std::string out("\x93NUMPY", 6);
  out += char(major);
  out += char(0);
  size_t lenBytes = major == 1 ? 2 : 4;
  for (size_t b = 0; b < lenBytes; ++b)
    out += char((header.size() >> (8 * b)) & 0xff);
  return out + header + data;
}

std::string npyHeaderText(const std::string &descr, const std::string &shape,
                          const std::string &fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n";
}

template <typename T> std::vector<T> values(const Tensor &t) {
  const T *p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

template <typename T> std::string bytesOf(const std::vector<T> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

class TensorIOTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "plumb-tensorio-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string &name) const { return dir_ + "/" + name; }

  // Names of leftover temporary files in the scratch folder.
  std::vector<std::string> tempFiles() const {
    std::vector<std::string> out;
    for (const auto &e : fs::directory_iterator(dir_))
      if (e.path().filename().string().find(".tmp-") != std::string::npos)
        out.push_back(e.path().filename().string());
    return out;
  }

  std::string dir_;
};

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

TEST_F(TensorIOTest, NpyRoundTripEveryDTypeAndShape) {
  for (DType dtype : kAllDTypes) {
    for (const Shape &shape : kShapes) {
      SCOPED_TRACE(std::string(dtypeName(dtype)) + "[" + shapeToString(shape) + "]");
      Tensor t = patterned(dtype, shape);
      std::string p = path("t.npy");
      writeNpy(p, t);
      EXPECT_TRUE(sameTensor(readNpy(p), t));
      // numpy-style alignment: the data starts at a multiple of 64 bytes.
      EXPECT_EQ((fs::file_size(p) - t.nbytes()) % 64, 0u);
      std::string bytes = encodeNpy(t);
      EXPECT_EQ(bytes, readBytes(p));
      EXPECT_TRUE(sameTensor(decodeNpy(bytes.data(), bytes.size(), "mem"), t));
    }
  }
  EXPECT_TRUE(tempFiles().empty());
}

TEST_F(TensorIOTest, NpyHeaderLooksLikeNumpys) {
  std::string bytes = encodeNpy(patterned(DType::F32, {2, 3}));
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_NE(bytes.find("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"),
            std::string::npos);
  EXPECT_NE(encodeNpy(patterned(DType::I8, {7})).find("'shape': (7,)"), std::string::npos);
  EXPECT_NE(encodeNpy(Tensor::scalarF32(1)).find("'shape': ()"), std::string::npos);
  EXPECT_NE(encodeNpy(patterned(DType::BF16, {1})).find("'|V2'"), std::string::npos);
  EXPECT_NE(encodeNpy(patterned(DType::Bool, {1})).find("'|b1'"), std::string::npos);
}

TEST_F(TensorIOTest, NpyHugeRankUsesFormat2) {
  Tensor t = patterned(DType::I16, Shape(30000, 1));
  std::string p = path("rank.npy");
  writeNpy(p, t);
  std::string bytes = readBytes(p);
  EXPECT_EQ(bytes[6], 2); // a 1.0 header length is 16-bit; this one is ~90 KB
  EXPECT_TRUE(sameTensor(readNpy(p), t));
}

TEST_F(TensorIOTest, ReadsNumpyWrittenNpy) {
  Tensor f32 = readNpy(kFixtures + "f32_2x3.npy");
  EXPECT_EQ(f32.describe(), "f32[2x3]");
  EXPECT_EQ(values<float>(f32), (std::vector<float>{-1, -0.5, 0, 0.5, 1, 1.5}));

  Tensor fortran = readNpy(kFixtures + "f64_fortran_2x3x4.npy");
  EXPECT_EQ(fortran.describe(), "f64[2x3x4]");
  for (int i = 0; i < 24; ++i)
    EXPECT_EQ(fortran.data<double>()[i], i);

  Tensor scalar = readNpy(kFixtures + "i64_scalar.npy");
  EXPECT_EQ(scalar.describe(), "i64[scalar]");
  EXPECT_EQ(scalar.data<int64_t>()[0], -7);

  Tensor b = readNpy(kFixtures + "bool_5.npy");
  EXPECT_EQ(b.describe(), "bool[5]");
  EXPECT_EQ(values<uint8_t>(b), (std::vector<uint8_t>{1, 0, 1, 1, 0}));

  Tensor h = readNpy(kFixtures + "f16_4.npy");
  EXPECT_EQ(h.describe(), "f16[4]");
  EXPECT_EQ(values<uint16_t>(h), (std::vector<uint16_t>{0x3c00, 0xc000, 0x7bff, 0x0001}));

  EXPECT_EQ(readNpy(kFixtures + "f32_empty_0x3.npy").describe(), "f32[0x3]");
  for (const char *name : {"u16_v2.npy", "u16_v3.npy"}) {
    Tensor u = readNpy(kFixtures + name);
    EXPECT_EQ(u.describe(), "u16[5]") << name;
    EXPECT_EQ(values<uint16_t>(u), (std::vector<uint16_t>{0, 1000, 2000, 3000, 4000})) << name;
  }
}

TEST_F(TensorIOTest, NpyHeaderVariants) {
  std::string data = bytesOf(std::vector<int32_t>{1, 2, 3, 4, 5, 6});
  const std::pair<std::string, Shape> cases[] = {
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", {2, 3}},
      {"{\"shape\": (2, 3), \"descr\": \"<i4\", \"fortran_order\": False}", {2, 3}},
      {"{'descr':'<i4','fortran_order':False,'shape':(6,)}        \n", {6}},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 3L), }\n", {2, 3}},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': [1, 6]}\n", {1, 6}},
      {"{'descr': '=i4', 'fortran_order': False, 'shape': (3, 2), 'extra': None}", {3, 2}},
      {"{'descr': '<i4',\n 'fortran_order': False,\n 'shape': ( 1 , 1 , 6 , ) }", {1, 1, 6}},
  };
  for (const auto &[header, shape] : cases) {
    SCOPED_TRACE(header);
    std::string bytes = npyBytes(header, data);
    Tensor t = decodeNpy(bytes.data(), bytes.size(), "h");
    EXPECT_EQ(t.shape(), shape);
    EXPECT_EQ(values<int32_t>(t), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
  }
  std::string scalar = npyBytes(npyHeaderText("<f8", "()"), bytesOf(std::vector<double>{2.5}));
  EXPECT_EQ(decodeNpy(scalar.data(), scalar.size(), "s").describe(), "f64[scalar]");
  std::string v2 = npyBytes(npyHeaderText("|u1", "(2,)"), "\x07\x09", 2);
  EXPECT_EQ(values<uint8_t>(decodeNpy(v2.data(), v2.size(), "v2")), (std::vector<uint8_t>{7, 9}));
}

TEST_F(TensorIOTest, NpyFortranOrderIsTransposed) {
  // Column-major 2x3: memory holds columns (0,3), (1,4), (2,5).
  std::string bytes = npyBytes(npyHeaderText("<i4", "(2, 3)", "True"),
                               bytesOf(std::vector<int32_t>{0, 3, 1, 4, 2, 5}));
  Tensor t = decodeNpy(bytes.data(), bytes.size(), "f");
  EXPECT_EQ(values<int32_t>(t), (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  // Rank 1, scalars and zero-size arrays are the same in either order.
  const std::pair<const char *, int64_t> cases[] = {
      {"(3,)", 3}, {"()", 1}, {"(0, 4)", 0}, {"(4, 0, 2)", 0}};
  for (const auto &[shape, n] : cases) {
    std::vector<int32_t> v(size_t(n), 7);
    std::string b = npyBytes(npyHeaderText("<i4", shape, "True"), bytesOf(v));
    Tensor t = decodeNpy(b.data(), b.size(), "f");
    EXPECT_EQ(t.numel(), n) << shape;
    EXPECT_EQ(values<int32_t>(t), v) << shape;
  }
}

TEST_F(TensorIOTest, NpyDTypeErrors) {
  std::string four(4, '\0');
  std::string bigEndian = npyBytes(npyHeaderText(">f4", "(1,)"), four);
  EXPECT_ERROR(decodeNpy(bigEndian.data(), bigEndian.size(), "be.npy"), "be.npy", "big-endian");
  std::string oneByte = npyBytes(npyHeaderText(">u1", "(1,)"), "\x05");
  EXPECT_EQ(decodeNpy(oneByte.data(), oneByte.size(), "u1").dtype(), DType::U8);
  for (const char *descr : {"<c8", "|O", "<U1", "|V4", "<M8", "<f16", "xyz", ""}) {
    std::string b = npyBytes(npyHeaderText(descr, "(1,)"), four);
    EXPECT_ERROR(decodeNpy(b.data(), b.size(), "d.npy"), "d.npy", "unsupported dtype");
  }
  std::string structured =
      npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", four);
  EXPECT_ERROR(decodeNpy(structured.data(), structured.size(), "s.npy"), "s.npy",
               "unsupported dtype");
}

TEST_F(TensorIOTest, NpyMalformedHeaders) {
  std::string four(4, '\0');
  const char *headers[] = {
      "{'descr': '<f4', 'fortran_order': False}",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': 1}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}",
      "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",
      "{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} trailing",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': ((((((((((((1,),),),),),),),),),),)}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)",
      "{1: '<f4'}",
      "['descr', '<f4']",
      "",
      "{'descr': '<f4', 'fortran_order': Fals, 'shape': (1,)}",
  };
  for (const char *header : headers) {
    std::string b = npyBytes(header, four);
    EXPECT_ERROR(decodeNpy(b.data(), b.size(), "m.npy"), "m.npy") << header;
  }
  std::string nul = npyBytes(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}" + std::string(2, '\0'), four);
  EXPECT_ERROR(decodeNpy(nul.data(), nul.size(), "nul.npy"), "nul.npy");
}

TEST_F(TensorIOTest, NpyHugeShapesAreRejectedWithoutAllocating) {
  const char *shapes[] = {"(4294967296, 4294967296, 16)", "(9223372036854775807, 2)",
                          "(4611686018427387904,)", "(2305843009213693952,)"};
  for (const char *shape : shapes) {
    std::string b = npyBytes(npyHeaderText("<f4", shape), std::string(16, '\0'));
    EXPECT_ERROR(decodeNpy(b.data(), b.size(), "big.npy"), "big.npy") << shape;
  }
  // Zero-size arrays may have large other dimensions.
  std::string zero = npyBytes(npyHeaderText("<f4", "(0, 1099511627776)"), "");
  EXPECT_EQ(decodeNpy(zero.data(), zero.size(), "z").numel(), 0);
  // A 2.0 header that claims 4 GiB.
  std::string claim("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14);
  EXPECT_ERROR(decodeNpy(claim.data(), claim.size(), "claim.npy"), "claim.npy", "truncated");
}

TEST_F(TensorIOTest, NpyDataSizeMismatch) {
  std::string header = npyHeaderText("<f4", "(3, 4)");
  std::string p = path("short.npy");
  writeBytes(p, npyBytes(header, std::string(40, '\0')));
  EXPECT_ERROR(readNpy(p), p, "data size mismatch");
  writeBytes(p, npyBytes(header, std::string(52, '\0')));
  EXPECT_ERROR(readNpy(p), p, "data size mismatch");
}

TEST_F(TensorIOTest, NpyTruncatedAtEveryInterestingOffset) {
  std::string full = encodeNpy(patterned(DType::F32, {4, 5}));
  size_t headerEnd = full.size() - 80;
  std::string p = path("cut.npy");
  for (size_t cut :
       {size_t(0), size_t(1), size_t(5), size_t(6), size_t(7), size_t(8), size_t(9), size_t(10),
        size_t(40), headerEnd - 1, headerEnd, headerEnd + 1, full.size() - 1}) {
    writeBytes(p, full.substr(0, cut));
    EXPECT_ERROR(readNpy(p), p) << "cut at " << cut;
    EXPECT_ERROR(decodeNpy(full.data(), cut, "mem"), "mem") << "cut at " << cut;
  }
}

TEST_F(TensorIOTest, NpyGarbageAndWrongMagic) {
  std::string p = path("garbage.npy");
  std::mt19937 rng(7);
  std::string garbage(1000, '\0');
  for (char &c : garbage)
    c = char(rng());
  writeBytes(p, garbage);
  EXPECT_ERROR(readNpy(p), p, "bad magic");
  writeBytes(p, "hello, this is text and not an array\n");
  EXPECT_ERROR(readNpy(p), p, "bad magic");
  std::string wrong = encodeNpy(Tensor::scalarF32(1));
  wrong[5] = 'X';
  writeBytes(p, wrong);
  EXPECT_ERROR(readNpy(p), p, "bad magic");
  std::string version = encodeNpy(Tensor::scalarF32(1));
  version[6] = 4;
  writeBytes(p, version);
  EXPECT_ERROR(readNpy(p), p, "version 4.0");
  EXPECT_ERROR(readNpy(path("missing.npy")), path("missing.npy"));
  EXPECT_ERROR(readNpy(dir_), dir_);
}

// Random corruption of a valid file must end in a result or a plumb::Error, never a crash.
TEST_F(TensorIOTest, NpyRandomCorruptionNeverCrashes) {
  std::string good = encodeNpy(patterned(DType::I16, {3, 7}));
  std::mt19937 rng(42);
  int errors = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string bad = good;
    int flips = 1 + int(rng() % 4);
    for (int f = 0; f < flips; ++f)
      bad[rng() % 128] = char(rng() % 2 ? rng() : " {}(),:'0123456789"[rng() % 18]);
    bad.resize(bad.size() - (rng() % 3 == 0 ? rng() % bad.size() : 0));
    try {
      decodeNpy(bad.data(), bad.size(), "fuzz");
    } catch (const Error &e) {
      ++errors;
      ASSERT_EQ(std::string(e.what()).rfind("fuzz: ", 0), 0u) << e.what();
    }
  }
  EXPECT_GT(errors, 100);
}

//===----------------------------------------------------------------------===//
// Atomic writers
//===----------------------------------------------------------------------===//

TEST_F(TensorIOTest, WritersReplaceAtomicallyAndCleanUp) {
  std::string p = path("w.npy");
  Tensor first = patterned(DType::F32, {3}), second = patterned(DType::I64, {2, 2}, 9);
  writeNpy(p, first);
  writeNpy(p, second);
  EXPECT_TRUE(sameTensor(readNpy(p), second));
  EXPECT_ERROR(writeNpy(p, Tensor()), p, "undefined");
  EXPECT_TRUE(sameTensor(readNpy(p), second));

  std::string z = path("w.npz");
  writeNpz(z, {{"a", first}});
  EXPECT_ERROR(writeNpz(z, {{"a", first}, {"a", second}}), z, "duplicate key 'a'");
  EXPECT_ERROR(writeNpz(z, {{"a", first}, {"b", Tensor()}}), z, "undefined");
  ASSERT_EQ(readNpz(z).size(), 1u);
  EXPECT_TRUE(tempFiles().empty());

  std::string nowhere = path("no/such/dir/x.npy");
  EXPECT_ERROR(writeNpy(nowhere, first), nowhere);
  EXPECT_ERROR(writeNpz(path("no/such/dir/x.npz"), {{"a", first}}), path("no/such/dir/x.npz"));
  EXPECT_TRUE(tempFiles().empty());
}

TEST_F(TensorIOTest, WriteIntoReadOnlyFolderFailsCleanly) {
  if (geteuid() == 0)
    GTEST_SKIP() << "root ignores folder permissions";
  fs::create_directory(path("ro"));
  fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
  EXPECT_ERROR(writeNpy(path("ro/x.npy"), Tensor::scalarF32(1)), path("ro/x.npy"));
  fs::permissions(path("ro"), fs::perms::owner_all);
  EXPECT_TRUE(fs::is_empty(path("ro")));
}

//===----------------------------------------------------------------------===//
// .npz
//===----------------------------------------------------------------------===//

NamedTensors everyDTypeAndShape() {
  NamedTensors out;
  unsigned seed = 0;
  for (DType dtype : kAllDTypes)
    for (const Shape &shape : kShapes)
      out.emplace_back(std::string(dtypeName(dtype)) + "_" + shapeToString(shape),
                       patterned(dtype, shape, ++seed));
  return out;
}

TEST_F(TensorIOTest, NpzRoundTripStoredAndCompressed) {
  NamedTensors tensors = everyDTypeAndShape();
  tensors.emplace_back("big_zeros", Tensor::zeros(DType::F32, {256, 256}));
  for (bool compress : {false, true}) {
    std::string p = path(compress ? "c.npz" : "s.npz");
    writeNpz(p, tensors, compress);
    NamedTensors back = readNpz(p);
    ASSERT_EQ(back.size(), tensors.size());
    for (size_t i = 0; i < back.size(); ++i) {
      EXPECT_EQ(back[i].first, tensors[i].first);
      EXPECT_TRUE(sameTensor(back[i].second, tensors[i].second)) << tensors[i].first;
    }
  }
  // The 256 KiB of zeros must actually have been compressed.
  EXPECT_LT(fs::file_size(path("c.npz")), fs::file_size(path("s.npz")) / 4);
  EXPECT_TRUE(tempFiles().empty());
}

TEST_F(TensorIOTest, NpzEmptyArchive) {
  std::string p = path("empty.npz");
  writeNpz(p, {});
  EXPECT_TRUE(readNpz(p).empty());
}

TEST_F(TensorIOTest, ReadsNumpyWrittenNpz) {
  NamedTensors stored = readNpz(kFixtures + "stored.npz");
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].first, "a");
  EXPECT_EQ(values<float>(stored[0].second), (std::vector<float>{0, 1, 2, 3}));
  EXPECT_EQ(stored[1].first, "b");
  EXPECT_EQ(values<int64_t>(stored[1].second), (std::vector<int64_t>{1, 2, 3}));

  NamedTensors compressed = readNpz(kFixtures + "compressed.npz");
  ASSERT_EQ(compressed.size(), 2u);
  EXPECT_EQ(compressed[0].second.describe(), "f32[2x2]");
  EXPECT_EQ(compressed[1].first, "zeros");
  EXPECT_EQ(compressed[1].second.describe(), "f64[1000]");
  for (double v : compressed[1].second.toDoubles())
    ASSERT_EQ(v, 0.0);

  NamedTensors all = readNpz(kFixtures + "all_dtypes.npz");
  ASSERT_EQ(all.size(), 13u);
  for (const auto &[name, t] : all) {
    SCOPED_TRACE(name);
    if (name == "bf16") {
      EXPECT_EQ(t.describe(), "bf16[3]");
      EXPECT_EQ(t.toDoubles(), (std::vector<double>{1.0, -2.0, 0.5}));
    } else if (name == "b1") {
      EXPECT_EQ(t.describe(), "bool[3x2]");
      EXPECT_EQ(t.toInts(), (std::vector<int64_t>{1, 0, 0, 1, 1, 1}));
    } else {
      EXPECT_EQ(t.shape(), (Shape{3, 2}));
      // arange(6) - 2, wrapped for unsigned types.
      for (int64_t i = 0; i < 6; ++i) {
        if (isSigned(t.dtype())) {
          EXPECT_EQ(t.getAsDouble(i), double(i - 2));
        } else if (i >= 2) {
          EXPECT_EQ(t.getAsInt(i), i - 2);
        }
      }
    }
  }
  std::vector<std::string> kinds;
  for (const auto &[name, t] : all)
    kinds.push_back(dtypeName(t.dtype()));
  std::sort(kinds.begin(), kinds.end());
  std::vector<std::string> expected;
  for (DType d : kAllDTypes)
    expected.push_back(dtypeName(d));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(kinds, expected);
}

TEST_F(TensorIOTest, NpzBadMemberIsNamed) {
  std::string p = kFixtures + "bad_member.npz";
  EXPECT_ERROR(readNpz(p), p + ": member 'x.npy'");
}

// Offset and size of the first member's data (after its local file header).
std::pair<size_t, size_t> firstMemberData(const std::string &zip) {
  auto u16 = [&](size_t at) {
    return size_t(uint8_t(zip[at])) | size_t(uint8_t(zip[at + 1])) << 8;
  };
  auto u32 = [&](size_t at) { return u16(at) | u16(at + 2) << 16; };
  return {30 + u16(26) + u16(28), u32(18)};
}

TEST_F(TensorIOTest, NpzCorruptMemberDataIsDetected) {
  for (bool compress : {false, true}) {
    SCOPED_TRACE(compress ? "deflate" : "stored");
    std::string p = path("corrupt.npz");
    writeNpz(p, {{"a", patterned(DType::F32, {64, 64})}}, compress);
    std::string zip = readBytes(p);
    auto [start, size] = firstMemberData(zip);
    ASSERT_LT(start + size, zip.size());
    // (Not the last deflate byte: it may hold only padding bits.)
    for (size_t at : {start + size / 3, start + size / 2}) {
      std::string bad = zip;
      bad[at] = char(bad[at] ^ 0x10);
      writeBytes(p, bad);
      EXPECT_ERROR(readNpz(p), p) << "flipped byte " << at;
    }
  }
}

TEST_F(TensorIOTest, NpzTruncatedGarbageAndCorruptDirectory) {
  std::string p = path("t.npz");
  writeNpz(p, {{"a", patterned(DType::U8, {100})}, {"b", patterned(DType::F64, {10})}});
  std::string zip = readBytes(p);
  for (size_t cut :
       {size_t(0), size_t(4), size_t(30), zip.size() / 2, zip.size() - 22, zip.size() - 1}) {
    writeBytes(p, zip.substr(0, cut));
    EXPECT_ERROR(readNpz(p), p) << "cut at " << cut;
  }
  // Break the central directory entries (they start with "PK\1\2").
  std::string bad = zip;
  size_t central = bad.find(std::string("PK\1\2", 4));
  ASSERT_NE(central, std::string::npos);
  for (size_t i = central + 10; i < central + 30; ++i)
    bad[i] = char(0xff);
  writeBytes(p, bad);
  EXPECT_ERROR(readNpz(p), p);

  std::mt19937 rng(3);
  std::string garbage(500, '\0');
  for (char &c : garbage)
    c = char(rng());
  writeBytes(p, garbage);
  EXPECT_ERROR(readNpz(p), p);
  EXPECT_ERROR(readNpz(kFixtures + "f32_2x3.npy"), kFixtures + "f32_2x3.npy");
  EXPECT_ERROR(readNpz(path("missing.npz")), path("missing.npz"));
}

// Random corruption of an archive: a result or a plumb::Error, never a crash.
TEST_F(TensorIOTest, NpzRandomCorruptionNeverCrashes) {
  std::string p = path("fuzz.npz");
  writeNpz(p, {{"a", patterned(DType::I32, {5, 5})}, {"b", patterned(DType::Bool, {9})}}, true);
  std::string good = readBytes(p);
  std::mt19937 rng(11);
  for (int iter = 0; iter < 300; ++iter) {
    std::string bad = good;
    for (int f = 0; f < 3; ++f)
      bad[rng() % bad.size()] = char(rng());
    writeBytes(p, bad);
    try {
      readNpz(p);
    } catch (const Error &e) {
      ASSERT_EQ(std::string(e.what()).rfind(p + ": ", 0), 0u) << e.what();
    }
  }
}

//===----------------------------------------------------------------------===//
// Folders of .npy
//===----------------------------------------------------------------------===//

TEST_F(TensorIOTest, NpyDirIsSortedByName) {
  writeNpy(path("b.npy"), patterned(DType::F32, {2}));
  writeNpy(path("a.npy"), patterned(DType::I8, {3}));
  writeNpy(path("c.1.npy"), Tensor::scalarI64(4));
  writeBytes(path("notes.txt"), "ignored");
  fs::create_directory(path("sub.npy"));
  NamedTensors all = readNpyDir(dir_);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].first, "a");
  EXPECT_EQ(all[0].second.describe(), "i8[3]");
  EXPECT_EQ(all[1].first, "b");
  EXPECT_EQ(all[2].first, "c.1");
  EXPECT_EQ(all[2].second.getAsInt(0), 4);

  writeBytes(path("d.npy"), "broken");
  EXPECT_ERROR(readNpyDir(dir_), path("d.npy"));
  EXPECT_ERROR(readNpyDir(path("nope")), path("nope"));
}

//===----------------------------------------------------------------------===//
// ONNX TensorProto
//===----------------------------------------------------------------------===//

TEST_F(TensorIOTest, ReadsOnnxBackendTestData) {
  if (!fs::exists(kOnnxAbs + "input_0.pb"))
    GTEST_SKIP() << "libonnx-testdata is not installed";
  for (const char *which : {"input_0", "output_0"}) {
    auto [name, t] = readTensorProtoFile(kOnnxAbs + which + ".pb");
    EXPECT_EQ(name, which == std::string("input_0") ? "x" : "y");
    Tensor expected = readNpy(kFixtures + "abs_" + which + ".npy");
    EXPECT_TRUE(sameTensor(t, expected)) << which;
  }
}

TEST_F(TensorIOTest, ReadsHandEncodedTypedFields) {
  auto read = [](const char *file) { return readTensorProtoFile(kFixtures + file); };
  auto [hName, h] = read("f16_int32_data.pb");
  EXPECT_EQ(hName, "h");
  EXPECT_EQ(h.describe(), "f16[3]");
  EXPECT_EQ(h.toDoubles(), (std::vector<double>{1.0, -2.0, 65504.0}));
  EXPECT_EQ(read("i8_int32_data.pb").second.toInts(), (std::vector<int64_t>{-128, -1, 0, 127}));
  EXPECT_EQ(read("i8_int32_data.pb").second.describe(), "i8[2x2]");
  EXPECT_EQ(read("i64_int64_data.pb").second.toInts(),
            (std::vector<int64_t>{-1, int64_t(1) << 40, 0}));
  EXPECT_EQ(read("f32_float_data.pb").second.toDoubles(), (std::vector<double>{0.25, -3.0}));
  Tensor u = read("u64_uint64_data.pb").second;
  EXPECT_EQ(values<uint64_t>(u), (std::vector<uint64_t>{~uint64_t(0), 5}));
}

onnx::TensorProto protoOf(int dataType, std::vector<int64_t> dims, const std::string &name = "t") {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(dataType);
  for (int64_t d : dims)
    p.add_dims(d);
  return p;
}

TEST_F(TensorIOTest, TensorProtoTypedFieldsEveryDType) {
  using TP = onnx::TensorProto;
  auto withInt32 = [](int type, std::vector<int32_t> v) {
    TP p = protoOf(type, {int64_t(v.size())});
    for (int32_t x : v)
      p.add_int32_data(x);
    return tensorFromProto(p, "w");
  };
  EXPECT_EQ(withInt32(TP::INT32, {-5, 7}).toInts(), (std::vector<int64_t>{-5, 7}));
  EXPECT_EQ(withInt32(TP::INT16, {-32768, 32767}).toInts(), (std::vector<int64_t>{-32768, 32767}));
  EXPECT_EQ(withInt32(TP::INT8, {-128, 5}).toInts(), (std::vector<int64_t>{-128, 5}));
  EXPECT_EQ(withInt32(TP::UINT8, {255, 0}).toInts(), (std::vector<int64_t>{255, 0}));
  EXPECT_EQ(withInt32(TP::UINT16, {65535, 1}).toInts(), (std::vector<int64_t>{65535, 1}));
  EXPECT_EQ(withInt32(TP::BOOL, {0, 1, 2}).toInts(), (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(withInt32(TP::FLOAT16, {0x3c00, 0xbc00}).toDoubles(), (std::vector<double>{1, -1}));
  EXPECT_EQ(withInt32(TP::BFLOAT16, {0x3f80, 0x4040}).toDoubles(), (std::vector<double>{1, 3}));
  EXPECT_EQ(withInt32(TP::BFLOAT16, {0x3f80}).dtype(), DType::BF16);

  TP f = protoOf(TP::FLOAT, {2, 1});
  f.add_float_data(1.5f);
  f.add_float_data(-0.25f);
  EXPECT_EQ(tensorFromProto(f, "w").toDoubles(), (std::vector<double>{1.5, -0.25}));
  TP d = protoOf(TP::DOUBLE, {});
  d.add_double_data(3.25);
  EXPECT_EQ(tensorFromProto(d, "w").describe(), "f64[scalar]");
  EXPECT_EQ(tensorFromProto(d, "w").getAsDouble(0), 3.25);
  TP i = protoOf(TP::INT64, {1});
  i.add_int64_data(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(tensorFromProto(i, "w").getAsInt(0), std::numeric_limits<int64_t>::min());
  TP u32 = protoOf(TP::UINT32, {1});
  u32.add_uint64_data(4000000000u);
  EXPECT_EQ(values<uint32_t>(tensorFromProto(u32, "w")), (std::vector<uint32_t>{4000000000u}));
  TP u64 = protoOf(TP::UINT64, {1});
  u64.add_uint64_data(~uint64_t(0));
  EXPECT_EQ(values<uint64_t>(tensorFromProto(u64, "w")), (std::vector<uint64_t>{~uint64_t(0)}));
  // Zero-size tensors need no data at all.
  EXPECT_EQ(tensorFromProto(protoOf(TP::FLOAT, {0, 3}), "w").describe(), "f32[0x3]");
}

TEST_F(TensorIOTest, TensorProtoRawDataRoundTrip) {
  for (DType dtype : kAllDTypes) {
    for (const Shape &shape : kShapes) {
      Tensor t = patterned(dtype, shape);
      onnx::TensorProto p;
      tensorToProto(t, "n", &p);
      EXPECT_EQ(p.data_type(), dtypeToOnnx(dtype));
      EXPECT_TRUE(sameTensor(tensorFromProto(p, "w"), t)) << t.describe();
      std::string file = path("t.pb");
      writeBytes(file, p.SerializeAsString());
      auto [name, back] = readTensorProtoFile(file);
      EXPECT_EQ(name, "n");
      EXPECT_TRUE(sameTensor(back, t)) << t.describe();
    }
  }
}

TEST_F(TensorIOTest, TensorProtoErrors) {
  // 8 string, 14/15 complex, 25/26 uint2/int2 (onnx 1.20): not plumb types.
  for (int type : {0, 8, 14, 15, 25, 26, -3}) {
    onnx::TensorProto p = protoOf(type, {1}, "bad");
    p.set_raw_data(std::string(16, '\0'));
    try {
      tensorFromProto(p, "model.onnx");
      ADD_FAILURE() << "type " << type << " accepted";
    } catch (const Error &e) {
      EXPECT_EQ(std::string(e.what()),
                "model.onnx: tensor 'bad' has unsupported element type " + std::to_string(type));
    }
  }
  // 4-bit types pack two elements a byte: three int4 take two bytes of raw_data.
  onnx::TensorProto packed = protoOf(22, {3}, "q");
  packed.set_raw_data(std::string(3, '\0'));
  try {
    tensorFromProto(packed, "model.onnx");
    ADD_FAILURE() << "3 bytes accepted for i4[3]";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()), "model.onnx: tensor 'q' has 3 bytes of raw_data but i4[3] needs 2");
  }
  onnx::TensorProto raw = protoOf(onnx::TensorProto::FLOAT, {3, 4});
  raw.set_raw_data(std::string(44, '\0'));
  EXPECT_ERROR(tensorFromProto(raw, "m"), "m", "tensor 't' has 44 bytes of raw_data");
  raw.set_raw_data(std::string(52, '\0'));
  EXPECT_ERROR(tensorFromProto(raw, "m"), "m", "needs 48");
  onnx::TensorProto typed = protoOf(onnx::TensorProto::INT64, {3});
  typed.add_int64_data(1);
  EXPECT_ERROR(tensorFromProto(typed, "m"), "m", "1 values in int64_data");
  onnx::TensorProto wrongField = protoOf(onnx::TensorProto::FLOAT, {1});
  wrongField.add_int32_data(1);
  EXPECT_ERROR(tensorFromProto(wrongField, "m"), "m", "float_data");
  EXPECT_ERROR(tensorFromProto(protoOf(onnx::TensorProto::FLOAT, {2, -1}), "m"), "m",
               "negative dimension");
  onnx::TensorProto huge = protoOf(onnx::TensorProto::FLOAT, {1 << 30, 1 << 30, 1 << 30});
  huge.set_raw_data("1234");
  EXPECT_ERROR(tensorFromProto(huge, "m"), "m", "too large");
  onnx::TensorProto segmented = protoOf(onnx::TensorProto::FLOAT, {1});
  segmented.mutable_segment()->set_begin(0);
  EXPECT_ERROR(tensorFromProto(segmented, "m"), "m", "segmented");
}

TEST_F(TensorIOTest, TensorProtoFileErrors) {
  std::string p = path("x.pb");
  EXPECT_ERROR(readTensorProtoFile(p), p);
  writeBytes(p, "");
  EXPECT_ERROR(readTensorProtoFile(p), p, "not a valid ONNX TensorProto");
  writeBytes(p, "\xff\xff\xff\xff\xff\xff garbage that is not protobuf");
  EXPECT_ERROR(readTensorProtoFile(p), p, "not a valid ONNX TensorProto");
  onnx::TensorProto proto;
  tensorToProto(patterned(DType::F32, {3, 4, 5}), "x", &proto);
  std::string full = proto.SerializeAsString();
  for (size_t cut :
       {size_t(1), size_t(3), size_t(8), size_t(12), full.size() / 2, full.size() - 1}) {
    writeBytes(p, full.substr(0, cut));
    EXPECT_ERROR(readTensorProtoFile(p), p) << "cut at " << cut;
  }
  EXPECT_ERROR(readTensorProtoFile(dir_), dir_);
}

onnx::TensorProto externalProto(const std::vector<std::pair<std::string, std::string>> &kv) {
  onnx::TensorProto p = protoOf(onnx::TensorProto::INT32, {2, 2}, "w");
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  for (const auto &[k, v] : kv) {
    auto *e = p.add_external_data();
    e->set_key(k);
    e->set_value(v);
  }
  return p;
}

TEST_F(TensorIOTest, TensorProtoExternalData) {
  std::vector<int32_t> v = {10, -20, 30, -40};
  fs::create_directory(path("sub"));
  writeBytes(path("sub/w.bin"), std::string(16, 'x') + bytesOf(v));
  writeBytes(path("exact.bin"), bytesOf(v));
  auto read = [&](const std::vector<std::pair<std::string, std::string>> &kv) {
    return tensorFromProto(externalProto(kv), "m.onnx", dir_);
  };
  std::vector<int64_t> expected = {10, -20, 30, -40};
  EXPECT_EQ(read({{"location", "sub/w.bin"}, {"offset", "16"}, {"length", "16"}}).toInts(),
            expected);
  EXPECT_EQ(read({{"location", "sub/w.bin"}, {"offset", "16"}}).toInts(), expected);
  EXPECT_EQ(read({{"location", "exact.bin"}, {"checksum", "ignored"}}).toInts(), expected);

  auto fails = [&](const std::vector<std::pair<std::string, std::string>> &kv,
                   const std::string &needle) {
    return throwsError([&] { read(kv); }, "m.onnx", needle);
  };
  EXPECT_TRUE(fails({{"location", path("exact.bin")}}, "not relative"));
  EXPECT_TRUE(fails({{"location", "../exact.bin"}}, "outside the model folder"));
  EXPECT_TRUE(fails({{"location", "sub/../../x.bin"}}, "outside the model folder"));
  EXPECT_TRUE(fails({{"location", "sub/.."}}, "outside the model folder"));
  EXPECT_TRUE(fails({{"offset", "0"}}, "without a location"));
  EXPECT_TRUE(fails({{"location", "missing.bin"}}, "missing.bin"));
  EXPECT_TRUE(fails({{"location", "sub"}}, "not a regular file"));
  EXPECT_TRUE(fails({{"location", "sub/w.bin"}}, "32 bytes of external data"));
  EXPECT_TRUE(fails({{"location", "sub/w.bin"}, {"offset", "20"}}, "needs 16"));
  EXPECT_TRUE(fails({{"location", "sub/w.bin"}, {"offset", "100"}}, "too short"));
  EXPECT_TRUE(fails({{"location", "sub/w.bin"}, {"offset", "24"}, {"length", "16"}}, "too short"));
  EXPECT_TRUE(fails({{"location", "sub/w.bin"}, {"offset", "-1"}}, "invalid external data"));
  EXPECT_TRUE(fails({{"location", "sub/w.bin"}, {"length", "1e3"}}, "invalid external data"));
  EXPECT_TRUE(fails({{"location", "sub/w.bin"}, {"offset", "99999999999999999999"}},
                    "invalid external data"));

  // Through a .pb file: locations are relative to the file's folder.
  std::string pb = path("sub/t.pb");
  writeBytes(pb, externalProto({{"location", "w.bin"}, {"offset", "16"}}).SerializeAsString());
  auto [name, t] = readTensorProtoFile(pb);
  EXPECT_EQ(name, "w");
  EXPECT_EQ(t.toInts(), expected);
}

//===----------------------------------------------------------------------===//
// numpy compatibility of our writers (skipped where numpy is unavailable)
//===----------------------------------------------------------------------===//

TEST_F(TensorIOTest, NumpyLoadsWhatWeWrite) {
  const char *python = "/usr/bin/python3";
  if (std::system((std::string(python) + " -c 'import numpy' 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "no python3 with numpy";
  NamedTensors tensors = everyDTypeAndShape();
  for (const auto &[name, t] : tensors) {
    writeNpy(path(name + ".npy"), t);
    writeBytes(path(name + ".bin"), std::string(static_cast<const char *>(t.raw()), t.nbytes()));
  }
  writeNpz(path("stored.npz"), tensors);
  writeNpz(path("compressed.npz"), tensors, true);
  writeNpz(path("empty.npz"), {});
  // numpy must see the same descr, shape and bytes, both from .npy and .npz.
  std::string script = path("check.py");
  writeBytes(script, R"(import glob, os, sys
import numpy as np
d = sys.argv[1]
codes = {"f32": "f4", "f16": "f2", "bf16": "V2", "f64": "f8", "i64": "i8", "i32": "i4",
         "i8": "i1", "u8": "u1", "bool": "b1", "i16": "i2", "u16": "u2", "u32": "u4", "u64": "u8"}
archives = [np.load(os.path.join(d, n)) for n in ("stored.npz", "compressed.npz")]
assert len(np.load(os.path.join(d, "empty.npz")).files) == 0
count = 0
for path in sorted(glob.glob(os.path.join(d, "*.npy"))):
    name = os.path.basename(path)[:-4]
    raw = open(os.path.join(d, name + ".bin"), "rb").read()
    shape = () if name.endswith("scalar") else tuple(int(x) for x in name.split("_")[1].split("x"))
    for a in [np.load(path)] + [z[name] for z in archives]:
        assert a.shape == shape, (name, a.shape)
        assert a.tobytes() == raw, name
        assert a.dtype.str[1:] == codes[name.split("_")[0]], (name, a.dtype.str)
    count += 1
print(count)
)");
  std::string out = path("out.txt");
  int rc = std::system(
      (std::string(python) + " " + script + " " + dir_ + " > " + out + " 2>&1").c_str());
  EXPECT_EQ(rc, 0) << readBytes(out);
  EXPECT_EQ(readBytes(out), std::to_string(tensors.size()) + "\n");
}

//===----------------------------------------------------------------------===//
// float16 / bfloat16 conversions (runtime/DType.cpp)
//===----------------------------------------------------------------------===//

float bitsToFloat(uint32_t x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

TEST(HalfTest, KnownValues) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(0.0f), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(65519.0f), 0x7bff); // below the rounding midpoint
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00); // midpoint rounds to even: infinity
  EXPECT_EQ(floatToHalf(1e10f), 0x7c00);
  EXPECT_EQ(floatToHalf(-1e10f), 0xfc00);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400);    // smallest normal
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001);    // smallest subnormal
  EXPECT_EQ(floatToHalf(std::ldexp(1023.0f, -24)), 0x03ff); // largest subnormal
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);    // tie between 0 and 1 ulp: even
  EXPECT_EQ(floatToHalf(std::ldexp(3.0f, -25)), 0x0002);    // tie between 1 and 2: even
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -26)), 0x0000);
  EXPECT_EQ(floatToHalf(std::ldexp(2047.0f, -25)), 0x0400);     // rounds up into the normals
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00); // tie: even
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(3.0f, -11)), 0x3c02); // tie: even (up)
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(floatToHalf(-std::numeric_limits<float>::infinity()), 0xfc00);
  uint16_t nan = floatToHalf(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
  EXPECT_NE(floatToHalf(bitsToFloat(0x7f800001u)) & 0x03ff, 0); // signalling NaN stays NaN

  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(halfToFloat(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
  EXPECT_EQ(halfToFloat(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0xfc01)));
}

TEST(HalfTest, EveryBitPatternRoundTrips) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    float f = halfToFloat(uint16_t(h));
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(halfToFloat(floatToHalf(f)))) << std::hex << h;
      continue;
    }
    ASSERT_EQ(floatToHalf(f), h) << std::hex << h;
    // Values strictly between neighbours round to the nearer one.
    uint32_t next = (h & 0x7fff) < 0x7bff ? h + 1 : h;
    if (next != h && (h & 0x7fff) != 0x7c00) {
      float g = halfToFloat(uint16_t(next));
      float quarter = f + (g - f) * 0.25f, threeQuarters = f + (g - f) * 0.75f;
      ASSERT_EQ(floatToHalf(quarter), h) << std::hex << h;
      ASSERT_EQ(floatToHalf(threeQuarters), next) << std::hex << h;
    }
  }
}

TEST(Bf16Test, KnownValuesAndRounding) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBf16(-2.0f), 0xc000);
  EXPECT_EQ(floatToBf16(-0.0f), 0x8000);
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3f808000u)), 0x3f80); // tie: even
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3f818000u)), 0x3f82); // tie: even (up)
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3f808001u)), 0x3f81);
  EXPECT_EQ(floatToBf16(bitsToFloat(0x3f807fffu)), 0x3f80);
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::max()), 0x7f80); // rounds to infinity
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(floatToBf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(floatToBf16(bitsToFloat(0x00000001u)), 0x0000); // tiny subnormal
  EXPECT_EQ(floatToBf16(bitsToFloat(0x00010000u)), 0x0001); // bf16 subnormal
  for (uint32_t nanBits : {0x7fc00000u, 0x7f800001u, 0xffffffffu, 0x7fffffffu}) {
    uint16_t b = floatToBf16(bitsToFloat(nanBits));
    EXPECT_TRUE(std::isnan(bf16ToFloat(b))) << std::hex << nanBits;
  }
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0x4049), 3.140625f);
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    float f = bf16ToFloat(uint16_t(b));
    if (std::isnan(f))
      ASSERT_TRUE(std::isnan(bf16ToFloat(floatToBf16(f))));
    else
      ASSERT_EQ(floatToBf16(f), b) << std::hex << b;
  }
}

TEST(DTypeTest, NumpyDescrs) {
  for (DType d : kAllDTypes)
    EXPECT_EQ(dtypeFromNumpyDescr(dtypeToNumpyDescr(d)), d) << dtypeName(d);
  EXPECT_EQ(dtypeFromNumpyDescr("<V2"), DType::BF16);
  EXPECT_EQ(dtypeFromNumpyDescr(">f4"), std::nullopt);
  EXPECT_EQ(dtypeFromNumpyDescr("<c8"), std::nullopt);
  for (DType d : kAllDTypes)
    EXPECT_EQ(dtypeFromOnnx(dtypeToOnnx(d)), d) << dtypeName(d);
}

} // namespace
