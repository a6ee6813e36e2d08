// Storage entries cut into tensors: complex storages come back as their reals with a last dim
// of 2 (re, im), with the view's offset and strides counted in complex elements.
#include "frontends/torchscript/tensor_rebuild.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/error.h"
#include "test_support/zip_entries.h"

namespace kiln::torchscript {
namespace {

// The bytes of `values` as stored (little-endian, as on every machine Kiln runs on).
template <typename T>
std::string bytes_of(const std::vector<T>& values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

// A TorchScript archive whose constants/c holds `storage`.
TsArchive archive_with(const std::string& storage) {
  test_support::ZipEntries entries;
  entries.files["t/data.pkl"] = "\x80\x02N.";
  entries.files["t/constants/c"] = storage;
  return TsArchive::open_bytes(entries.write(), "t.pt", kTorchScriptArchive);
}

TensorRef complex_view(DType dtype, int64_t numel, int64_t offset, Dims sizes, Dims strides) {
  return {{dtype, true, "c", numel}, offset, std::move(sizes), std::move(strides)};
}

std::string read_error(const TsArchive& archive, const TensorRef& ref) {
  try {
    StorageReader(archive, "constants/").read(ref, "CONSTANTS.c0");
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), ErrorKind::InvalidModel) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "the storage was read";
  return "";
}

// complex64 storage s[k] = (k + 0.5) - k·i; the view [2, 3] at offset 1 with strides (1, 2)
// (a transposed slice) holds s[1 + i + 2j] at (i, j).
TEST(StorageReader, ReadsAStridedComplex64ViewAsPairsOfReals) {
  std::vector<float> storage;
  for (int k = 0; k < 8; ++k) {
    storage.push_back(static_cast<float>(k) + 0.5f);
    storage.push_back(-static_cast<float>(k));
  }
  TsArchive archive = archive_with(bytes_of(storage));
  Tensor tensor = StorageReader(archive, "constants/")
                      .read(complex_view(DType::Float32, 8, 1, {2, 3}, {1, 2}), "CONSTANTS.c0");
  EXPECT_EQ(tensor.dtype(), DType::Float32);
  EXPECT_EQ(tensor.dims(), (Dims{2, 3, 2}));
  std::vector<double> values = tensor.to_double_vector();
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      int k = 1 + i + 2 * j;
      EXPECT_EQ(values[(i * 3 + j) * 2], k + 0.5) << i << "," << j;
      EXPECT_EQ(values[(i * 3 + j) * 2 + 1], -k) << i << "," << j;
    }
  }
}

TEST(StorageReader, ReadsAContiguousComplex128ViewAsFloat64Pairs) {
  std::vector<double> storage = {9, 9, 1.25, -2, 3.5, 4, -5, 6.75, 7, 8};
  TsArchive archive = archive_with(bytes_of(storage));
  Tensor tensor = StorageReader(archive, "constants/")
                      .read(complex_view(DType::Float64, 5, 1, {2, 2}, {2, 1}), "CONSTANTS.c0");
  EXPECT_EQ(tensor.dtype(), DType::Float64);
  EXPECT_EQ(tensor.dims(), (Dims{2, 2, 2}));
  EXPECT_EQ(tensor.to_double_vector(), std::vector<double>(storage.begin() + 2, storage.end()));
}

// Sizes are checked in complex elements: 40 bytes are five complex64 values, not ten.
TEST(StorageReader, ChecksComplexStoragesInComplexElements) {
  TsArchive archive = archive_with(std::string(40, '\0'));
  std::string message = read_error(archive, complex_view(DType::Float32, 6, 0, {6}, {1}));
  EXPECT_NE(message.find("holds 40 bytes but the pickle declares 6 elements of complex64"),
            std::string::npos)
      << message;
  message = read_error(archive, complex_view(DType::Float32, 5, 1, {5}, {1}));
  EXPECT_NE(message.find("reach past the stored data"), std::string::npos) << message;
  message = read_error(archive, complex_view(DType::Float32, 5, 0, {2}, {int64_t{1} << 62}));
  EXPECT_NE(message.find("complex tensor strides"), std::string::npos) << message;
}

}  // namespace
}  // namespace kiln::torchscript
