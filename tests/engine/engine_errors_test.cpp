// Damaged engine files fail with a clear error of the right kind, never a crash: a wrong
// magic, an older or newer format version, truncation anywhere, a flipped weight byte, a bad
// prepared-weight dtype, a compiled kernel outside the file. And an engine built for another
// GPU is refused before running.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "core/file.h"
#include "engine/build_engine.h"
#include "engine/engine_file.h"
#include "kiln/kiln.h"

namespace kiln::engine {
namespace {

using ::testing::HasSubstr;

class EngineErrors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    BuildConfig config;
    config.enabled_precisions = {Precision::FP32, Precision::BF16};
    ir::Graph graph = load_model(std::filesystem::path(KILN_SOURCE_DIR) /
                                 "tests/models/fixtures/resnet/resnet_fp32.onnx");
    assign_engine_precisions(graph, config);
    std::filesystem::path path = scratch("good");
    write_engine(path, graph, config);
    good_ = new std::string(read_file(path));
    std::filesystem::remove(path);
  }
  static void TearDownTestSuite() {
    delete good_;
    good_ = nullptr;
  }
  void TearDown() override { std::filesystem::remove(scratch("bad")); }

  static std::filesystem::path scratch(const std::string& stem) {
    return std::filesystem::temp_directory_path() /
           ("engine_errors_" + stem + "_" + std::to_string(::getpid()) + ".kiln");
  }
  // Writes `bytes` and reads them as an engine; returns the error it must raise.
  static Error read_damaged(const std::string& bytes) {
    std::filesystem::path path = scratch("bad");
    write_file(path, bytes.data(), bytes.size());
    try {
      read_engine(path);
    } catch (const Error& error) {
      return error;
    }
    ADD_FAILURE() << "a damaged engine of " << bytes.size() << " bytes was read without error";
    return Error(ErrorKind::Runtime, "");
  }
  static uint64_t weights_offset() {
    uint64_t offset = 0;
    std::memcpy(&offset, good_->data() + 48,
                sizeof offset);  // prefix field 6 (see engine_file.cpp)
    return offset;
  }
  // The file with its checksum recomputed (64-bit FNV-1a over all but the last 8 bytes), so
  // that a damage inside the manifest reaches the manifest's own checks.
  static std::string with_checksum(std::string bytes) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i + sizeof hash < bytes.size(); ++i) {
      hash = (hash ^ static_cast<uint8_t>(bytes[i])) * 0x100000001b3ULL;
    }
    std::memcpy(bytes.data() + bytes.size() - sizeof hash, &hash, sizeof hash);
    return bytes;
  }
  // The good file with its first prepared weight's stored dtype replaced by `dtype` (padded
  // with JSON whitespace to keep every offset); `name` gets that weight's value name.
  static std::string with_stored_dtype(const std::string& dtype, std::string* name) {
    const std::string key = "\"stored_dtype\":\"bfloat16\"";
    std::string bytes = *good_;
    size_t at = bytes.find(key);
    EXPECT_NE(at, std::string::npos) << "the resnet engine has no prepared weight";
    if (at == std::string::npos) return bytes;
    std::string replacement = "\"stored_dtype\":\"" + dtype + "\"";
    replacement.resize(key.size(), ' ');
    bytes.replace(at, key.size(), replacement);
    size_t name_at = bytes.find("\"name\":\"", at) + 8;  // the value's keys follow "constant"
    *name = bytes.substr(name_at, bytes.find('"', name_at) - name_at);
    return with_checksum(bytes);
  }
  static std::string* good_;
};

std::string* EngineErrors::good_ = nullptr;

TEST_F(EngineErrors, TheUndamagedFileReads) {
  std::filesystem::path path = scratch("bad");
  write_file(path, good_->data(), good_->size());
  EXPECT_GT(read_engine(path).graph.node_count(), 0u);
  EXPECT_TRUE(is_engine_file(path));
  EXPECT_FALSE(is_engine_file(std::filesystem::path(KILN_SOURCE_DIR) /
                              "tests/models/fixtures/resnet/resnet_fp32.onnx"));
}

TEST_F(EngineErrors, WrongMagic) {
  std::string bytes = *good_;
  bytes[0] = 'X';
  Error error = read_damaged(bytes);
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("not a Kiln engine file"));
  EXPECT_THAT(error.what(), HasSubstr("kiln build"));
}

TEST_F(EngineErrors, NewerFormatVersionNamesFoundAndSupported) {
  std::string bytes = *good_;
  uint32_t newer = kEngineFormatVersion + 1;
  std::memcpy(bytes.data() + 8, &newer, sizeof newer);
  Error error = read_damaged(bytes);
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), HasSubstr("format version " + std::to_string(newer)));
  EXPECT_THAT(error.what(),
              HasSubstr("supports only version " + std::to_string(kEngineFormatVersion)));
}

TEST_F(EngineErrors, OlderFormatVersionIsRefused) {
  std::string bytes = *good_;
  uint32_t version_1 = 1;
  std::memcpy(bytes.data() + 8, &version_1, sizeof version_1);
  Error error = read_damaged(bytes);
  EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
  EXPECT_THAT(error.what(), HasSubstr("format version 1 "));
  EXPECT_THAT(error.what(),
              HasSubstr("supports only version " + std::to_string(kEngineFormatVersion)));
  EXPECT_THAT(error.what(), HasSubstr("kiln build"));
}

TEST_F(EngineErrors, RecomputedChecksumAloneStillReads) {
  std::filesystem::path path = scratch("bad");
  std::string bytes = with_checksum(*good_);
  EXPECT_EQ(bytes, *good_);
  write_file(path, bytes.data(), bytes.size());
  EXPECT_FALSE(read_engine(path).prepared_weights.empty());
}

// Compiled kernels ride after the weights; one whose offset points past the file is corrupt.
TEST_F(EngineErrors, KernelsRoundTripAndOneOutsideTheFileIsCorrupt) {
  BuildConfig config;
  ir::Graph graph = load_model(std::filesystem::path(KILN_SOURCE_DIR) /
                               "tests/models/fixtures/mlp/mlp_fp32.onnx");
  assign_engine_precisions(graph, config);
  std::map<std::string, std::string> kernels = {{"kiln_fused_1", std::string(300, 'a')},
                                                {"kiln_fused_2", "cubin bytes"}};
  std::filesystem::path path = scratch("kernels");
  write_engine(path, graph, config, {}, {}, kernels);
  EXPECT_EQ(read_engine(path).kernels, kernels);
  std::string bytes = read_file(path);
  std::filesystem::remove(path);
  const std::string key = "\"name\":\"kiln_fused_2\",\"offset\":";
  size_t at = bytes.find(key);
  ASSERT_NE(at, std::string::npos);
  size_t digits = at + key.size();
  size_t end = bytes.find(',', digits);
  std::string huge = "9999999999999999";
  ASSERT_LE(end - digits, huge.size());
  bytes.replace(digits, end - digits, huge.substr(0, end - digits));
  Error error = read_damaged(with_checksum(bytes));
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("kernel 'kiln_fused_2' lies outside the file"));
}

// The GPU runtime's algorithm choices are JSON in the header, stored and read back as they
// are (the GPU runtime checks their contents); text that is not JSON is refused on writing.
TEST_F(EngineErrors, TunedAlgorithmsRoundTripAndNonJsonIsRefused) {
  BuildConfig config;
  ir::Graph graph = load_model(std::filesystem::path(KILN_SOURCE_DIR) /
                               "tests/models/fixtures/mlp/mlp_fp32.onnx");
  assign_engine_precisions(graph, config);
  const std::string tuned = R"({"conv":[],"cublaslt_version":1,"cudnn_version":2,"gemm":[]})";
  std::filesystem::path path = scratch("tuned");
  write_engine(path, graph, config, {}, {}, {}, tuned);
  EXPECT_EQ(read_engine(path).tuned_algorithms, tuned);
  write_engine(path, graph, config);
  EXPECT_EQ(read_engine(path).tuned_algorithms, "") << "an engine without choices has none";
  try {
    write_engine(path, graph, config, {}, {}, {}, "{not json");
    ADD_FAILURE() << "non-JSON choices were written";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
    EXPECT_THAT(error.what(), HasSubstr("tuned algorithms"));
  }
  std::filesystem::remove(path);
}

TEST_F(EngineErrors, StoredDtypeWiderThanDeclaredIsCorrupt) {
  std::string name;
  Error error = read_damaged(with_stored_dtype("float64", &name));
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("corrupt manifest"));
  EXPECT_THAT(error.what(), HasSubstr("value '" + name + "' is stored as float64"));
}

TEST_F(EngineErrors, StoredDtypeThatIsNoFloatIsCorrupt) {
  std::string name;
  Error error = read_damaged(with_stored_dtype("int16", &name));
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("value '" + name + "' is stored as int16"));
}

TEST_F(EngineErrors, StoredDtypeInconsistentWithBytesIsCorrupt) {
  std::string name;
  Error error = read_damaged(with_stored_dtype("float32", &name));  // bytes hold bf16
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("value '" + name + "' is stored as float32"));
  EXPECT_THAT(error.what(), HasSubstr("bytes"));
}

TEST_F(EngineErrors, UnknownStoredDtypeIsCorrupt) {
  std::string name;
  Error error = read_damaged(with_stored_dtype("bfloat17", &name));
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("bfloat17"));
}

TEST(EngineArchitecture, CpuBuiltEngineRunsAnywhere) {
  EngineHeader header;  // gpu_architecture "none"
  EXPECT_NO_THROW(check_engine_architecture(header, "m.kiln", "sm_80", "NVIDIA A100"));
}

TEST(EngineArchitecture, SameArchitecturePasses) {
  EngineHeader header;
  header.gpu_architecture = "sm_90";
  header.gpu_name = "NVIDIA H100 80GB HBM3";
  header.cuda_version = 13000;
  // Another card of the same architecture is fine.
  EXPECT_NO_THROW(check_engine_architecture(header, "m.kiln", "sm_90", "NVIDIA H200"));
}

TEST(EngineArchitecture, OtherArchitectureIsRefusedNamingBoth) {
  EngineHeader header;
  header.gpu_architecture = "sm_90";
  header.gpu_name = "NVIDIA H100 80GB HBM3";
  header.cuda_version = 13000;
  try {
    check_engine_architecture(header, "x.kiln", "sm_80", "NVIDIA A100");
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::Unsupported);
    EXPECT_THAT(error.what(), HasSubstr("'x.kiln'"));
    EXPECT_THAT(error.what(), HasSubstr("sm_90 (NVIDIA H100 80GB HBM3, CUDA 13000)"));
    EXPECT_THAT(error.what(), HasSubstr("sm_80 (NVIDIA A100)"));
    EXPECT_THAT(error.what(), HasSubstr("kiln build"));
  }
}

TEST_F(EngineErrors, TruncatedAtEverySixteenth) {
  for (size_t sixteenth = 0; sixteenth < 16; ++sixteenth) {
    size_t length = good_->size() * sixteenth / 16;
    SCOPED_TRACE("truncated to " + std::to_string(length) + " bytes");
    Error error = read_damaged(good_->substr(0, length));
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
    EXPECT_THAT(error.what(), HasSubstr("corrupt or truncated"));
  }
  Error last_byte_missing = read_damaged(good_->substr(0, good_->size() - 1));
  EXPECT_THAT(last_byte_missing.what(), HasSubstr("corrupt or truncated"));
}

TEST_F(EngineErrors, FlippedWeightByteFailsTheChecksum) {
  uint64_t offset = weights_offset();
  ASSERT_GT(offset, 64u);
  ASSERT_LT(offset + 1000, good_->size());
  std::string bytes = *good_;
  bytes[offset + 1000] ^= 0x10;
  Error error = read_damaged(bytes);
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("corrupt or truncated"));
  EXPECT_THAT(error.what(), HasSubstr("checksum"));
}

TEST_F(EngineErrors, FlippedManifestByteFailsTheChecksum) {
  std::string bytes = *good_;
  bytes[200] ^= 0x01;
  Error error = read_damaged(bytes);
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("checksum"));
}

TEST_F(EngineErrors, HugeSectionSizesAreRejectedNotFollowed) {
  std::string bytes = *good_;
  uint64_t huge = ~uint64_t{0} - 8;
  std::memcpy(bytes.data() + 40, &huge, sizeof huge);  // manifest size
  Error error = read_damaged(bytes);
  EXPECT_EQ(error.kind(), ErrorKind::InvalidModel);
  EXPECT_THAT(error.what(), HasSubstr("do not fit"));
}

}  // namespace
}  // namespace kiln::engine
