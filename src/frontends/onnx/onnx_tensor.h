// ONNX TensorProto → Kiln Tensor: element types, the typed and raw data fields, and
// external data files mapped in place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/file.h"
#include "core/tensor.h"
#include "onnx/onnx.pb.h"

namespace kiln::onnx {

// The Kiln type of an ONNX TensorProto.DataType code; nullopt for types Kiln lacks.
std::optional<DType> dtype_from_onnx(int64_t code);
// "FLOAT", "STRING", ... or "code 42" for codes the proto does not know.
std::string onnx_dtype_name(int64_t code);
// "FLOAT, FLOAT16, ..., BOOL": for messages about unsupported types.
std::string supported_onnx_dtypes();
// The Kiln type of `code`, or Unsupported "<what> has dtype STRING; Kiln supports ...".
DType require_dtype(int64_t code, const std::string& what);

class TensorReader {
 public:
  // `base_folder`: where external data files live (empty forbids external data).
  // `proto_owner`: keeps the parsed protos alive, so raw_data can be shared, not copied.
  TensorReader(std::filesystem::path base_folder, std::shared_ptr<const void> proto_owner);

  // `what` names the tensor in messages: "model.onnx: initializer 'w'".
  Tensor read(const ::onnx::TensorProto& proto, const std::string& what);

 private:
  Tensor from_external(const ::onnx::TensorProto& proto, DType dtype, const Dims& dims,
                       const std::string& what);
  Tensor from_bytes(DType dtype, const Dims& dims, std::shared_ptr<const void> owner,
                    const void* bytes, size_t byte_count);

  std::filesystem::path base_folder_;
  std::shared_ptr<const void> proto_owner_;
  std::map<std::filesystem::path, std::shared_ptr<MappedFile>> mapped_files_;
};

}  // namespace kiln::onnx
