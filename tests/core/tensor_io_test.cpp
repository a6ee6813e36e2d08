// .npy and .safetensors: round trips for every dtype, byte-exact agreement with files numpy
// wrote, and clear errors (never crashes) on corrupt or unsupported files.
#include "core/tensor_io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "core/file.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;

// One tensor of each dtype .safetensors stores, with awkward values (extremes, negatives).
std::map<std::string, Tensor> sample_tensors() {
  std::map<std::string, Tensor> tensors;
  tensors["f32"] = Tensor::from_vector<float>({2, 2}, {1.5f, -0.0f, 3e38f, -1e-45f});
  tensors["f64"] = Tensor::from_vector<double>({3}, {1e300, -2.5, 0.1});
  tensors["f16"] = Tensor::from_vector<float>({2}, {65504.0f, -0.5f}).to(DType::Float16);
  tensors["bf16"] =
      Tensor::from_vector<float>({1, 3}, {1.0f, -3.0e38f, 0.0078125f}).to(DType::BFloat16);
  tensors["i8"] = Tensor::from_vector<int8_t>({2}, {-128, 127});
  tensors["i16"] = Tensor::from_vector<int16_t>({2}, {-32768, 32767});
  tensors["i32"] = Tensor::from_vector<int32_t>({2}, {-2147483647 - 1, 7});
  tensors["i64"] = Tensor::from_vector<int64_t>({2}, {INT64_MIN, INT64_MAX});
  tensors["u8"] = Tensor::from_vector<uint8_t>({3}, {0, 128, 255});
  tensors["bool"] = Tensor::from_vector<bool>({2, 1}, {true, false});
  tensors["scalar"] = Tensor::scalar<float>(2.0f);
  tensors["empty"] = Tensor(DType::Int32, {0, 4});
  return tensors;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.dims() == b.dims() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

template <typename Fn>
std::string error_message(ErrorKind kind, Fn&& fn) {
  try {
    fn();
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), kind) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "expected a kiln::Error";
  return "";
}

// A .npy file with the given header dict and data bytes, laid out as numpy does.
std::string npy_bytes(const std::string& dict, const std::string& data) {
  std::string header = dict;
  header.append((10 + header.size() + 1 + 63) / 64 * 64 - 10 - header.size() - 1, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header + data;
}

std::string hex_bytes(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST(Npy, RoundTripsEveryDtype) {
  for (const auto& [name, tensor] : sample_tensors()) {
    Tensor back = decode_npy(encode_npy(tensor), name);
    if (tensor.dtype() == DType::BFloat16) {
      // .npy has no bfloat16: it is widened to float32, exactly.
      EXPECT_TRUE(same_bytes(back, tensor.to(DType::Float32))) << name;
    } else {
      EXPECT_TRUE(same_bytes(back, tensor)) << name;
    }
  }
}

TEST(Npy, WritesTheSameBytesAsNumpy) {
  // Made with numpy 2.4.6: io = BytesIO(); np.save(io, a); io.getvalue()
  // a = np.arange(6, dtype='<i4').reshape(2, 3): 152 bytes.
  std::string expected = npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }",
                                   hex_bytes("000000000100000002000000030000000400000005000000"));
  ASSERT_EQ(expected.size(), 152u);
  EXPECT_EQ(encode_npy(Tensor::from_vector<int32_t>({2, 3}, {0, 1, 2, 3, 4, 5})), expected);
  // np.array([1.5, -2.0], dtype='<f2'): 132 bytes; np.array(3.25): 136 bytes;
  // np.array([True, False, True]): 131 bytes.
  std::string half =
      npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", hex_bytes("003e00c0"));
  EXPECT_EQ(half.size(), 132u);
  EXPECT_EQ(encode_npy(Tensor::from_vector<double>({2}, {1.5, -2.0}).to(DType::Float16)), half);
  std::string scalar = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                                 hex_bytes("0000000000000a40"));
  EXPECT_EQ(scalar.size(), 136u);
  EXPECT_EQ(encode_npy(Tensor::scalar<double>(3.25)), scalar);
  std::string flags =
      npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", hex_bytes("010001"));
  EXPECT_EQ(flags.size(), 131u);
  Tensor read = decode_npy(flags, "flags.npy");
  EXPECT_THAT(read.values<bool>(), ::testing::ElementsAre(true, false, true));
}

TEST(Npy, ReadsVersion2AndDoubleQuotedHeaders) {
  std::string dict = R"({"descr": "<i2", "fortran_order": False, "shape": (2,)})";
  std::string file("\x93NUMPY\x02\x00", 8);
  uint32_t length = static_cast<uint32_t>(dict.size());
  file.append(reinterpret_cast<const char*>(&length), 4);
  file += dict + std::string("\x05\x00\xff\xff", 4);
  Tensor tensor = decode_npy(file, "v2.npy");
  EXPECT_THAT(tensor.values<int16_t>(), ::testing::ElementsAre(5, -1));
}

TEST(Npy, RejectsLayoutsAndTypesItCannotRead) {
  std::string data(8, '\0');
  std::string fortran =
      npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }", data);
  EXPECT_THAT(error_message(ErrorKind::InvalidArgument, [&] { decode_npy(fortran, "f.npy"); }),
              HasSubstr("'f.npy' is in Fortran order"));
  std::string big = npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data);
  EXPECT_THAT(error_message(ErrorKind::InvalidArgument, [&] { decode_npy(big, "b.npy"); }),
              HasSubstr("'b.npy' is big-endian"));
  std::string object = npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", data);
  EXPECT_THAT(error_message(ErrorKind::InvalidArgument, [&] { decode_npy(object, "o.npy"); }),
              HasSubstr("object array"));
  std::string complex =
      npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data);
  EXPECT_THAT(error_message(ErrorKind::Unsupported, [&] { decode_npy(complex, "c.npy"); }),
              HasSubstr("'<c8'"));
  // A 1-D array is the same in both orders, so Fortran order is fine there.
  std::string fortran_1d =
      npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data);
  EXPECT_EQ(decode_npy(fortran_1d, "f1.npy").numel(), 2);
}

TEST(Npy, CorruptFilesGiveClearErrors) {
  std::string good = encode_npy(Tensor::from_vector<float>({2}, {1, 2}));
  EXPECT_THAT(error_message(ErrorKind::InvalidArgument, [&] { decode_npy("hello", "x.npy"); }),
              HasSubstr("'x.npy' is not a valid .npy file"));
  std::string extra = good + "!";
  EXPECT_THAT(error_message(ErrorKind::InvalidArgument, [&] { decode_npy(extra, "x.npy"); }),
              HasSubstr("truncated or corrupt"));
  std::string missing_key = npy_bytes("{'descr': '<f4', 'shape': (2,), }", std::string(8, '\0'));
  error_message(ErrorKind::InvalidArgument, [&] { decode_npy(missing_key, "x.npy"); });
  std::string huge = npy_bytes(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", "");
  error_message(ErrorKind::InvalidArgument, [&] { decode_npy(huge, "x.npy"); });
  // Every truncation is an error, never a crash or a short tensor.
  for (size_t length = 0; length < good.size(); ++length) {
    error_message(ErrorKind::InvalidArgument, [&] { decode_npy(good.substr(0, length), "t.npy"); });
  }
}

TEST(Npy, RandomHeaderDamageNeverEscapesAsAnotherException) {
  std::string good = encode_npy(Tensor::from_vector<int32_t>({2, 2}, {1, 2, 3, 4}));
  std::mt19937 generator(7);
  for (int trial = 0; trial < 20000; ++trial) {
    std::string damaged = good;
    for (int flips = 0; flips < 3; ++flips) {
      damaged[generator() % 128] = static_cast<char>(generator());
    }
    try {
      decode_npy(damaged, "d.npy");
    } catch (const Error&) {
      // expected for most damage
    }
  }
}

TEST(Npy, BoolBytesOtherThanZeroAndOneReadAsTrue) {
  std::string file = npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
                               std::string("\x00\x02\xff", 3));
  Tensor flags = decode_npy(file, "b.npy");
  EXPECT_EQ(static_cast<const uint8_t*>(flags.raw())[1], 1);
  EXPECT_THAT(flags.values<bool>(), ::testing::ElementsAre(false, true, true));
}

TEST(Npy, FilesOnDisk) {
  auto path = std::filesystem::temp_directory_path() /
              ("kiln_tensor_io_test_" + std::to_string(::getpid()) + ".npy");
  Tensor tensor = Tensor::from_vector<double>({2}, {0.5, 4});
  write_npy(path, tensor);
  EXPECT_TRUE(same_bytes(read_npy(path), tensor));
  std::filesystem::remove(path);
  EXPECT_THAT(error_message(ErrorKind::InvalidArgument, [&] { read_npy(path); }),
              HasSubstr(path.string()));
}

TEST(Safetensors, RoundTripsEveryDtypeKeepingBFloat16) {
  std::map<std::string, Tensor> tensors = sample_tensors();
  std::string bytes = encode_safetensors(tensors);
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  EXPECT_EQ((8 + header_size) % 8, 0u);  // data starts aligned
  std::map<std::string, Tensor> back = decode_safetensors(bytes, "all.safetensors");
  ASSERT_EQ(back.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) EXPECT_TRUE(same_bytes(back.at(name), tensor)) << name;

  auto path = std::filesystem::temp_directory_path() /
              ("kiln_tensor_io_test_" + std::to_string(::getpid()) + ".safetensors");
  write_safetensors(path, tensors);
  EXPECT_EQ(read_safetensors(path).at("bf16").dtype(), DType::BFloat16);
  std::filesystem::remove(path);
}

// A file from a hand-written header, as another writer would make it.
std::string safetensors_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t size = header.size();
  std::memcpy(out.data(), &size, 8);
  return out + header + data;
}

TEST(Safetensors, ReadsHandWrittenFilesWithMetadata) {
  std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"I16","shape":[2],"data_offsets":[4,8]},)"
      R"("a":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]},"c":{"dtype":"U8","shape":[3],"data_offsets":[1,4]}})";
  auto tensors = decode_safetensors(
      safetensors_file(header, std::string("\x07\x01\x02\x03\x05\x00\xfe\xff", 8)), "h");
  ASSERT_EQ(tensors.size(), 3u);
  EXPECT_THAT(tensors.at("a").values<bool>(), ::testing::ElementsAre(true));  // byte 7 → true
  EXPECT_THAT(tensors.at("c").values<uint8_t>(), ::testing::ElementsAre(1, 2, 3));
  EXPECT_THAT(tensors.at("b").values<int16_t>(), ::testing::ElementsAre(5, -2));
}

TEST(Safetensors, CorruptFilesGiveClearErrors) {
  auto check_bad = [](const std::string& header, const std::string& data, ErrorKind kind,
                      const std::string& expected_text) {
    std::string message =
        error_message(kind, [&] { decode_safetensors(safetensors_file(header, data), "bad.st"); });
    EXPECT_THAT(message, HasSubstr("'bad.st'"));
    EXPECT_THAT(message, HasSubstr(expected_text)) << header;
  };
  std::string four(4, '\0');
  check_bad("not json", four, ErrorKind::InvalidArgument, "not a JSON object");
  check_bad("[1, 2]", four, ErrorKind::InvalidArgument, "not a JSON object");
  check_bad(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", four,
            ErrorKind::InvalidArgument, "outside");
  check_bad(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", four,
            ErrorKind::InvalidArgument, "needs 2x4 bytes");
  check_bad(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", four,
            ErrorKind::InvalidArgument, "non-negative");
  check_bad(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", four,
            ErrorKind::InvalidArgument, "outside");
  check_bad(R"({"x":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", four,
            ErrorKind::Unsupported, "F8_E4M3");
  check_bad(R"({"x":{"dtype":"F32","shape":[1]}})", four, ErrorKind::InvalidArgument,
            "data_offsets");
  check_bad(
      R"({"x":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"y":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
      four, ErrorKind::InvalidArgument, "overlaps");
  check_bad(R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", four,
            ErrorKind::InvalidArgument, "belong to no tensor");
  check_bad(R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", four,
            ErrorKind::InvalidArgument, "belong to no tensor");
  check_bad(R"({"x":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", four,
            ErrorKind::InvalidArgument, "");
  check_bad(std::string(200000, '['), four, ErrorKind::InvalidArgument, "not a JSON object");

  std::string short_file("\x10\x00", 2);
  error_message(ErrorKind::InvalidArgument, [&] { decode_safetensors(short_file, "s"); });
  std::string lying(8, '\xff');
  EXPECT_THAT(error_message(ErrorKind::InvalidArgument, [&] { decode_safetensors(lying, "s"); }),
              HasSubstr("does not fit"));
  std::string good = encode_safetensors(sample_tensors());
  for (size_t length = 0; length < good.size(); ++length) {
    error_message(ErrorKind::InvalidArgument,
                  [&] { decode_safetensors(good.substr(0, length), "t"); });
  }
}

TEST(Safetensors, RandomDamageNeverEscapesAsAnotherException) {
  std::string good = encode_safetensors(sample_tensors());
  std::mt19937 generator(11);
  for (int trial = 0; trial < 5000; ++trial) {
    std::string damaged = good;
    damaged[generator() % damaged.size()] = static_cast<char>(generator());
    try {
      decode_safetensors(damaged, "d");
    } catch (const Error&) {
    }
  }
}

TEST(Safetensors, RefusesTheReservedName) {
  std::map<std::string, Tensor> tensors{{"__metadata__", Tensor::scalar<float>(1)}};
  error_message(ErrorKind::InvalidArgument, [&] { encode_safetensors(tensors); });
}

}  // namespace
}  // namespace kiln
