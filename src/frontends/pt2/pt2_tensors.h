// Tensor metadata and payloads of a torch.export archive: ScalarType codes, sizes that may
// be symbolic, and weights stored as raw (possibly strided) bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "frontends/pt2/pt2_archive.h"
#include "frontends/pt2/pt2_json.h"
#include "ir/shape.h"

namespace kiln::pt2 {

// The schema's ScalarType code → DType; Unsupported naming the type for complex, float8 etc.
DType dtype_from_scalar_type(int64_t code, const std::string& where);

// A SymInt ({"as_int": n} or {"as_expr": {"expr_str": "Symbol('s0', ...)"}}) as a Dim:
// named after its symbol, unknown for compound expressions.
ir::Dim dim_from_sym_int(const Json& sym_int, const std::string& where);
// The symbol of an expression that is one symbol ("s0", "Symbol('s0', positive=True)").
std::string symbol_of(const std::string& expr);

struct TensorMeta {
  // complex64 / complex128 read as float32 / float64 with `complex` set: Kiln holds such a
  // tensor as a pair of reals (a trailing dim of 2; frontends/torch/aten_fft.cpp).
  DType dtype = DType::Undefined;
  bool complex = false;
  std::vector<ir::Dim> sizes;
  // The value's storage layout where the file gives it as fixed numbers (not symbolic).
  std::optional<std::vector<int64_t>> strides;
  int64_t storage_offset = 0;
};
TensorMeta read_tensor_meta(const Json& meta, const std::string& where);
// "complex64" for ScalarType code 10 (and 9, 11); null for the others.
const char* complex_scalar_type_name(int64_t code);

// Reads the payload `fqn` ("fc1.weight") listed in `config_path`
// (data/weights/model_weights_config.json or data/constants/model_constants_config.json)
// as a contiguous tensor, honouring sizes, strides and storage_offset.
class PayloadReader {
 public:
  PayloadReader(const Pt2Archive& archive, const std::string& folder);
  bool has(const std::string& fqn) const;
  // A complex64 payload comes back as its float32 pair [..., 2] (`complex` set when given).
  Tensor read(const std::string& fqn, bool* complex = nullptr) const;

 private:
  const Pt2Archive& archive_;
  std::string folder_;  // "data/weights/"
  std::string where_;
  Json config_;  // the "config" object
};

}  // namespace kiln::pt2
