// Builds small ONNX ModelProtos in C++ for the importer tests (no Python, no files unless
// a test writes them).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "core/error.h"
#include "frontends/onnx/onnx_importer.h"
#include "onnx/onnx.pb.h"

namespace kiln::onnx::testing {

using ::onnx::AttributeProto;
using ::onnx::TensorProto;
using DimSpec = std::variant<int64_t, std::string>;  // a size or a symbol

class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 18) {
    model_.set_ir_version(8);
    model_.set_producer_name("kiln-test");
    auto* entry = model_.add_opset_import();
    entry->set_domain("");
    entry->set_version(opset);
    model_.mutable_graph()->set_name("test_graph");
  }

  ::onnx::ModelProto& model() { return model_; }
  ::onnx::GraphProto& graph() { return *model_.mutable_graph(); }
  std::string bytes() const { return model_.SerializeAsString(); }

  ::onnx::ValueInfoProto& input(const std::string& name, int elem_type,
                                const std::vector<DimSpec>& dims) {
    return value_info(graph().add_input(), name, elem_type, &dims);
  }
  ::onnx::ValueInfoProto& output(const std::string& name, int elem_type = TensorProto::FLOAT) {
    return value_info(graph().add_output(), name, elem_type, nullptr);
  }

  ::onnx::NodeProto& node(const std::string& op_type, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* node = graph().add_node();
    node->set_op_type(op_type);
    node->set_name(name);
    for (const auto& input : inputs) node->add_input(input);
    for (const auto& output : outputs) node->add_output(output);
    return *node;
  }

  TensorProto& initializer(const std::string& name, int elem_type,
                           const std::vector<int64_t>& dims) {
    auto* tensor = graph().add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(elem_type);
    for (int64_t dim : dims) tensor->add_dims(dim);
    return *tensor;
  }
  TensorProto& float_initializer(const std::string& name, const std::vector<int64_t>& dims,
                                 const std::vector<float>& values) {
    TensorProto& tensor = initializer(name, TensorProto::FLOAT, dims);
    for (float value : values) tensor.add_float_data(value);
    return tensor;
  }
  TensorProto& int64_initializer(const std::string& name, const std::vector<int64_t>& values) {
    TensorProto& tensor = initializer(name, TensorProto::INT64, {int64_t(values.size())});
    for (int64_t value : values) tensor.add_int64_data(value);
    return tensor;
  }

 private:
  static ::onnx::ValueInfoProto& value_info(::onnx::ValueInfoProto* info, const std::string& name,
                                            int elem_type, const std::vector<DimSpec>* dims) {
    info->set_name(name);
    auto* tensor_type = info->mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(elem_type);
    if (dims) {
      auto* shape = tensor_type->mutable_shape();
      for (const DimSpec& dim : *dims) {
        auto* proto_dim = shape->add_dim();
        if (const int64_t* size = std::get_if<int64_t>(&dim)) {
          if (*size >= 0) proto_dim->set_dim_value(*size);  // -1: neither value nor symbol
        } else {
          proto_dim->set_dim_param(std::get<std::string>(dim));
        }
      }
    }
    return *info;
  }

  ::onnx::ModelProto model_;
};

// The error importing the builder's model (labelled "model.onnx") raises; a test failure if
// it imports.
inline Error import_error_of(const ModelBuilder& builder) {
  try {
    import_onnx_model_bytes(builder.bytes(), {}, {}, "model.onnx");
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "import succeeded but should have failed";
  return Error(ErrorKind::Runtime, "no error");
}

inline void set_raw(TensorProto& tensor, const void* bytes, size_t size) {
  tensor.set_raw_data(std::string(static_cast<const char*>(bytes), size));
}

inline AttributeProto& add_attr(::onnx::NodeProto& node, const std::string& name,
                                AttributeProto::AttributeType type) {
  auto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(type);
  return *attribute;
}
inline void attr_int(::onnx::NodeProto& node, const std::string& name, int64_t value) {
  add_attr(node, name, AttributeProto::INT).set_i(value);
}
inline void attr_float(::onnx::NodeProto& node, const std::string& name, float value) {
  add_attr(node, name, AttributeProto::FLOAT).set_f(value);
}
inline void attr_string(::onnx::NodeProto& node, const std::string& name,
                        const std::string& value) {
  add_attr(node, name, AttributeProto::STRING).set_s(value);
}
inline void attr_ints(::onnx::NodeProto& node, const std::string& name,
                      const std::vector<int64_t>& values) {
  auto& attribute = add_attr(node, name, AttributeProto::INTS);
  for (int64_t value : values) attribute.add_ints(value);
}
inline void attr_floats(::onnx::NodeProto& node, const std::string& name,
                        const std::vector<float>& values) {
  auto& attribute = add_attr(node, name, AttributeProto::FLOATS);
  for (float value : values) attribute.add_floats(value);
}
inline TensorProto& attr_tensor(::onnx::NodeProto& node, const std::string& name) {
  return *add_attr(node, name, AttributeProto::TENSOR).mutable_t();
}

}  // namespace kiln::onnx::testing
