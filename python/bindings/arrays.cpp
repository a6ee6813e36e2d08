// Arrays between Python and Kiln (arrays.h).
#include "arrays.h"

#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "core/error.h"

namespace kiln::python {
namespace {

std::string type_module(nb::handle object) {
  nb::handle type = object.type();
  if (!nb::hasattr(type, "__module__")) return "";
  nb::object module = type.attr("__module__");
  return nb::isinstance<nb::str>(module) ? nb::cast<std::string>(module) : std::string();
}

// Copies an array of any strides into contiguous bytes, element by element in C order.
void gather(const InputArray& array, size_t element_size, std::byte* out) {
  const auto* base = static_cast<const std::byte*>(array.data());
  size_t rank = array.ndim();
  std::vector<int64_t> index(rank, 0);
  int64_t count = int64_t(array.size());
  for (int64_t n = 0; n < count; ++n) {
    int64_t offset = 0;
    for (size_t axis = 0; axis < rank; ++axis) offset += index[axis] * array.stride(axis);
    std::memcpy(out + size_t(n) * element_size, base + offset * int64_t(element_size),
                element_size);
    for (size_t axis = rank; axis-- > 0;) {
      if (++index[axis] < int64_t(array.shape(axis))) break;
      index[axis] = 0;
    }
  }
}

template <typename Framework>
nb::object wrap(void* data, DType dtype, const Dims& dims, nb::handle owner, int device_type,
                int device) {
  std::vector<size_t> shape(dims.begin(), dims.end());
  nb::ndarray<Framework> array(data, shape.size(), shape.data(), owner, nullptr,
                               dlpack_dtype(dtype), device_type, device);
  return nb::cast(array, nb::rv_policy::reference);
}

// torch.Tensor's type, learned from the first tensor seen (torch is never imported here).
PyTypeObject* torch_tensor_type = nullptr;

bool is_torch_tensor(nb::handle value) {
  PyTypeObject* type = Py_TYPE(value.ptr());
  if (type == torch_tensor_type) return true;
  if (torch_tensor_type != nullptr) return false;
  if (type_module(value) == "torch" &&
      nb::cast<std::string>(nb::handle(reinterpret_cast<PyObject*>(type)).attr("__name__")) ==
          "Tensor") {
    torch_tensor_type = type;
    return true;
  }
  return false;
}

// The DLPack element type of a torch dtype (torch.float32, ...), by its name once per dtype
// object (torch's dtypes are singletons); nullopt for one Kiln has not.
std::optional<nb::dlpack::dtype> torch_dtype(nb::handle dtype) {
  static std::map<PyObject*, std::optional<nb::dlpack::dtype>> known;
  auto found = known.find(dtype.ptr());
  if (found != known.end()) return found->second;
  static const std::map<std::string, DType> names = {
      {"torch.float32", DType::Float32},   {"torch.float16", DType::Float16},
      {"torch.bfloat16", DType::BFloat16}, {"torch.float64", DType::Float64},
      {"torch.int8", DType::Int8},         {"torch.int16", DType::Int16},
      {"torch.int32", DType::Int32},       {"torch.int64", DType::Int64},
      {"torch.uint8", DType::UInt8},       {"torch.bool", DType::Bool}};
  std::string name = nb::cast<std::string>(nb::str(dtype));
  std::optional<nb::dlpack::dtype> result;
  if (auto named = names.find(name); named != names.end()) result = dlpack_dtype(named->second);
  dtype.inc_ref();  // kept as a key for good: torch's dtype objects live as long as torch
  known.emplace(dtype.ptr(), result);
  return result;
}

// A torch CUDA tensor read from its attributes (a handful of cheap calls) instead of a DLPack
// export, which costs microseconds per tensor on every run; nullopt for anything else (host
// tensors, subclasses, dtypes Kiln has not), which takes the DLPack path and its errors.
template <typename Array>
std::optional<Array> torch_cuda_array(nb::handle value) {
  if (!is_torch_tensor(value)) return std::nullopt;
  int device = nb::cast<int>(value.attr("get_device")());
  if (device < 0) return std::nullopt;
  std::optional<nb::dlpack::dtype> dtype = torch_dtype(value.attr("dtype"));
  if (!dtype) return std::nullopt;
  auto data = nb::cast<uintptr_t>(value.attr("data_ptr")());
  nb::object shape_object = value.attr("shape");
  nb::object stride_object = value.attr("stride")();
  std::vector<size_t> shape;
  std::vector<int64_t> strides;
  for (nb::handle size : shape_object) shape.push_back(nb::cast<size_t>(size));
  for (nb::handle stride : stride_object) strides.push_back(nb::cast<int64_t>(stride));
  if (strides.size() != shape.size()) return std::nullopt;
  return Array(reinterpret_cast<void*>(data), shape.size(), shape.data(), value, strides.data(),
               *dtype, nb::device::cuda::value, device);
}

}  // namespace

Framework framework_from_name(const std::string& name) {
  if (name == "numpy") return Framework::NumPy;
  if (name == "torch") return Framework::Torch;
  if (name == "dlpack") return Framework::DLPack;
  fail(ErrorKind::InvalidArgument, "unknown array framework '", name,
       "' (valid: numpy, torch, dlpack)");
}

Framework framework_of(nb::handle object) {
  if (is_torch_tensor(object)) return Framework::Torch;
  std::string module = type_module(object);
  if (module == "numpy") return Framework::NumPy;
  if (module == "torch" || module.starts_with("torch.")) return Framework::Torch;
  return Framework::DLPack;
}

DType dtype_of(const nb::dlpack::dtype& dtype, const std::string& what) {
  using Code = nb::dlpack::dtype_code;
  auto code = Code(dtype.code);
  if (dtype.lanes == 1) {
    if (code == Code::Float && dtype.bits == 32) return DType::Float32;
    if (code == Code::Float && dtype.bits == 16) return DType::Float16;
    if (code == Code::Float && dtype.bits == 64) return DType::Float64;
    if (code == Code::Bfloat && dtype.bits == 16) return DType::BFloat16;
    if (code == Code::Int && dtype.bits == 8) return DType::Int8;
    if (code == Code::Int && dtype.bits == 16) return DType::Int16;
    if (code == Code::Int && dtype.bits == 32) return DType::Int32;
    if (code == Code::Int && dtype.bits == 64) return DType::Int64;
    if (code == Code::UInt && dtype.bits == 8) return DType::UInt8;
    if (code == Code::Bool && dtype.bits == 8) return DType::Bool;
  }
  throw nb::type_error((what + " has an element type Kiln does not have (DLPack code " +
                        std::to_string(int(dtype.code)) + ", " + std::to_string(dtype.bits) +
                        " bits)")
                           .c_str());
}

nb::dlpack::dtype dlpack_dtype(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return nb::dtype<float>();
    case DType::Float64:
      return nb::dtype<double>();
    case DType::Float16:
      return {uint8_t(nb::dlpack::dtype_code::Float), 16, 1};
    case DType::BFloat16:
      return {uint8_t(nb::dlpack::dtype_code::Bfloat), 16, 1};
    case DType::Int8:
      return nb::dtype<int8_t>();
    case DType::Int16:
      return nb::dtype<int16_t>();
    case DType::Int32:
      return nb::dtype<int32_t>();
    case DType::Int64:
      return nb::dtype<int64_t>();
    case DType::UInt8:
      return nb::dtype<uint8_t>();
    case DType::Bool:
      return nb::dtype<bool>();
    case DType::Undefined:
      break;
  }
  fail(ErrorKind::Runtime, "no DLPack element type for dtype ", dtype_name(dtype));
}

InputArray as_array(nb::handle value, const std::string& what) {
  if (std::optional<InputArray> tensor = torch_cuda_array<InputArray>(value)) return *tensor;
  InputArray array;
  if (!nb::try_cast(value, array)) {
    std::string type = nb::cast<std::string>(nb::str(value.type().attr("__name__")));
    if (nb::hasattr(value, "dtype")) {  // an array of a kind no array protocol carries
      nb::object dtype_object = value.attr("dtype");
      std::string dtype =
          nb::cast<std::string>(nb::steal<nb::str>(PyObject_Str(dtype_object.ptr())));
      throw nb::type_error((what + " is a " + type + " of dtype " + dtype +
                            ", which Kiln cannot read (numbers and bools only)")
                               .c_str());
    }
    throw nb::type_error(
        (what + " is a " + type + ", not an array (NumPy, torch or any DLPack tensor)").c_str());
  }
  return array;
}

std::optional<InputArray> torch_cuda_input(nb::handle value) {
  return torch_cuda_array<InputArray>(value);
}

std::optional<OutputArray> torch_cuda_output(nb::handle value) {
  return torch_cuda_array<OutputArray>(value);
}

OutputArray as_output_array(nb::handle value, const std::string& what) {
  if (std::optional<OutputArray> tensor = torch_cuda_array<OutputArray>(value)) return *tensor;
  OutputArray array;
  if (!nb::try_cast(value, array))
    throw nb::type_error(
        (what + " is not a writable array (a torch or any DLPack tensor)").c_str());
  return array;
}

Arrays read_arrays(const nb::dict& arrays, const char* kind) {
  Arrays read;
  for (auto [key, value] : arrays) {
    if (!nb::isinstance<nb::str>(key)) throw nb::type_error("array names must be strings");
    std::string name = nb::cast<std::string>(key);
    read.emplace(name, as_array(value, std::string(kind) + " '" + name + "'"));
  }
  return read;
}

std::string shape_text(const InputArray& array) { return dims_to_string(dims_of(array)); }

Dims dims_of(const InputArray& array) {
  Dims dims;
  for (size_t axis = 0; axis < array.ndim(); ++axis) dims.push_back(int64_t(array.shape(axis)));
  return dims;
}

bool is_contiguous(const InputArray& array) {
  int64_t expected = 1;
  for (size_t axis = array.ndim(); axis-- > 0;) {
    // A dim of size 1 may carry any stride (torch gives such dims arbitrary strides).
    if (array.shape(axis) != 1 && array.stride(axis) != expected) return false;
    expected *= int64_t(array.shape(axis));
  }
  return true;
}

bool on_cuda(const InputArray& array) { return array.device_type() == nb::device::cuda::value; }

Tensor host_tensor(const InputArray& array, const std::string& name, DType expected,
                   bool bf16_view) {
  std::string what = "input '" + name + "'";
  DType given = bf16_view && array.dtype() == nb::dtype<uint16_t>() ? DType::BFloat16
                                                                    : dtype_of(array.dtype(), what);
  if (given != expected) {
    throw nb::type_error((what + " is " + std::string(dtype_name(given)) +
                          ", but the model takes " + std::string(dtype_name(expected)))
                             .c_str());
  }
  Tensor tensor(expected, dims_of(array));
  auto* out = static_cast<std::byte*>(tensor.raw_mutable());
  if (is_contiguous(array)) {
    if (tensor.nbytes() > 0) std::memcpy(out, array.data(), tensor.nbytes());
  } else {
    gather(array, dtype_size(expected), out);
  }
  return tensor;
}

nb::object host_array(Tensor tensor, Framework framework) {
  DType dtype = tensor.dtype();
  Dims dims = tensor.dims();
  auto* owned = new Tensor(std::move(tensor));
  nb::capsule owner(owned, [](void* pointer) noexcept { delete static_cast<Tensor*>(pointer); });
  void* data = owned->raw_mutable();
  switch (framework) {
    case Framework::NumPy: {
      if (dtype == DType::BFloat16) {
        std::vector<size_t> shape(dims.begin(), dims.end());
        nb::ndarray<nb::numpy> array(data, shape.size(), shape.data(), owner, nullptr,
                                     nb::dtype<uint16_t>(), nb::device::cpu::value, 0);
        return nb::cast(array, nb::rv_policy::reference);
      }
      return wrap<nb::numpy>(data, dtype, dims, owner, nb::device::cpu::value, 0);
    }
    case Framework::Torch:
      return wrap<nb::pytorch>(data, dtype, dims, owner, nb::device::cpu::value, 0);
    case Framework::DLPack:
      break;
  }
  return wrap<nb::array_api>(data, dtype, dims, owner, nb::device::cpu::value, 0);
}

nb::object device_array(void* data, DType dtype, const Dims& dims, int device, nb::handle owner,
                        Framework framework) {
  if (framework == Framework::Torch)
    return wrap<nb::pytorch>(data, dtype, dims, owner, nb::device::cuda::value, device);
  return wrap<nb::array_api>(data, dtype, dims, owner, nb::device::cuda::value, device);
}

}  // namespace kiln::python
