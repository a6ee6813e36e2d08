// The ONNX frontend's entry points: parse model and tensor files with protobuf (bounded,
// never trusting the bytes), then hand the model to the graph importer.
#include "onnx_importer.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <limits>

#include "core/error.h"
#include "core/file.h"
#include "onnx_graph_import.h"
#include "onnx_tensor.h"

namespace kiln::onnx {
namespace {

// Deep enough for any real model's nested subgraphs (If/Loop bodies), shallow enough that
// a crafted file cannot exhaust the stack.
constexpr int kRecursionLimit = 64;

template <typename Message>
std::shared_ptr<Message> parse_message(const void* data, size_t size, const std::string& label,
                                       const char* kind) {
  constexpr size_t kMaxBytes = std::numeric_limits<int>::max();
  check(size <= kMaxBytes, ErrorKind::InvalidModel, label, " is ", size, " bytes; a protobuf ",
        kind, " cannot exceed 2 GiB (large weights belong in external data files)");
  auto message = std::make_shared<Message>();
  google::protobuf::io::ArrayInputStream array(data, static_cast<int>(size));
  google::protobuf::io::CodedInputStream stream(&array);
  stream.SetTotalBytesLimit(static_cast<int>(kMaxBytes));
  stream.SetRecursionLimit(kRecursionLimit);
  bool parsed = message->ParseFromCodedStream(&stream) && stream.ConsumedEntireMessage();
  check(parsed, ErrorKind::InvalidModel, label, " is not a valid ONNX ", kind,
        ": protobuf parsing failed (the file is truncated, corrupt, or not ONNX)");
  return message;
}

std::filesystem::path folder_of(const std::filesystem::path& path) {
  std::filesystem::path folder = path.parent_path();
  return folder.empty() ? std::filesystem::path(".") : folder;
}

}  // namespace

ImportResult import_onnx_model(const std::filesystem::path& path, const ImportOptions& options) {
  std::string label = path.filename().string();
  std::shared_ptr<::onnx::ModelProto> model;
  {
    std::shared_ptr<MappedFile> file = MappedFile::open(path);
    model = parse_message<::onnx::ModelProto>(file->data(), file->size(), label, "model");
  }
  return import_model_proto(std::move(model), folder_of(path), label, options);
}

ImportResult import_onnx_model_bytes(const std::string& bytes,
                                     const std::filesystem::path& base_folder,
                                     const ImportOptions& options, const std::string& label) {
  auto model = parse_message<::onnx::ModelProto>(bytes.data(), bytes.size(), label, "model");
  return import_model_proto(std::move(model), base_folder, label, options);
}

ir::Graph import_onnx_file(const std::filesystem::path& path) {
  return std::move(import_onnx_model(path, ImportOptions{}).graph);
}

ir::Graph import_onnx_bytes(const std::string& bytes, const std::filesystem::path& base_folder) {
  return std::move(import_onnx_model_bytes(bytes, base_folder, ImportOptions{}).graph);
}

std::vector<std::string> unsupported_op_names(const ImportResult& result) {
  std::vector<std::string> names;
  for (const UnsupportedOp& op : result.unsupported) names.push_back(op.op_type);
  return names;
}

std::string describe_unsupported(const std::string& label, const std::vector<UnsupportedOp>& ops) {
  std::string message = label + " uses " + std::to_string(ops.size()) + " unsupported op" +
                        (ops.size() == 1 ? "" : "s") + ": ";
  for (size_t i = 0; i < ops.size(); ++i) {
    message += (i ? ", " : "") + ops[i].op_type + " (node ";
    for (size_t j = 0; j < ops[i].node_names.size(); ++j) {
      message += (j ? ", '" : "'") + ops[i].node_names[j] + "'";
    }
    message += ")";
  }
  for (const UnsupportedOp& op : ops) {
    for (const std::string& reason : op.reasons) message += "\n  " + reason;
  }
  return message;
}

Tensor read_onnx_tensor_file(const std::filesystem::path& path) {
  std::string label = path.filename().string();
  std::shared_ptr<::onnx::TensorProto> proto;
  {
    std::shared_ptr<MappedFile> file = MappedFile::open(path);
    proto = parse_message<::onnx::TensorProto>(file->data(), file->size(), label, "tensor");
  }
  TensorReader reader(folder_of(path), proto);
  std::string what = label + ": tensor" + (proto->name().empty() ? "" : " '" + proto->name() + "'");
  return reader.read(*proto, what);
}

}  // namespace kiln::onnx
