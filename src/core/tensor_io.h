// Tensor files: NumPy .npy (one tensor) and .safetensors (many tensors by name). Readers
// check every size and offset and throw InvalidArgument/Unsupported naming the file.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace kiln {

// .npy v1.0/2.0/3.0, little-endian, C order; dtypes f4 f8 f2 i1 i2 i4 i8 u1 b1.
Tensor read_npy(const std::filesystem::path& path);
// Writes v1.0 (v2.0 if the header is too long). .npy has no bfloat16: it is widened to f4.
void write_npy(const std::filesystem::path& path, const Tensor& tensor);
// The same on bytes in memory; `source` names the bytes in error messages.
Tensor decode_npy(std::string_view bytes, const std::string& source);
std::string encode_npy(const Tensor& tensor);

// .safetensors: dtypes F32 F16 BF16 F64 I8 I16 I32 I64 U8 BOOL. Tensors are copied out of
// the file, so the result does not depend on the file staying unchanged.
std::map<std::string, Tensor> read_safetensors(const std::filesystem::path& path);
void write_safetensors(const std::filesystem::path& path,
                       const std::map<std::string, Tensor>& tensors);
std::map<std::string, Tensor> decode_safetensors(std::string_view bytes, const std::string& source);
std::string encode_safetensors(const std::map<std::string, Tensor>& tensors);

// Files may hold bytes other than 0 and 1 where a bool is stored; reading those as C++ bool
// is undefined, so readers of raw bool bytes call this first.
void normalize_bool_bytes(Tensor& tensor);

// element_count(dims), with `source` named in the error when the dims are bad.
int64_t checked_element_count(const Dims& dims, const std::string& source);

// True for paths ending in .safetensors (case-sensitive, as the format's tools write it).
bool is_safetensors_path(const std::filesystem::path& path);

}  // namespace kiln
