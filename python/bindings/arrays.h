// Arrays between Python and Kiln: any object with the buffer protocol or DLPack (NumPy, torch,
// CuPy, JAX) read as a kiln::Tensor on the host or as a device pointer on the GPU, and Kiln's
// results handed back as NumPy arrays, torch tensors or plain DLPack arrays without copies.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <map>
#include <optional>
#include <string>

#include "core/tensor.h"

namespace kiln::python {

namespace nb = nanobind;

// What an input array is read as; read-only arrays (np.broadcast_to) are accepted.
using InputArray = nb::ndarray<nb::ro>;
// Where Context.run writes an output the caller provides.
using OutputArray = nb::ndarray<>;

// The kind of array a result is returned as: the inputs' kind where they agree.
enum class Framework { NumPy, Torch, DLPack };
// "numpy", "torch" or "dlpack"; throws InvalidArgument naming the valid ones.
Framework framework_from_name(const std::string& name);
// The framework of a Python object: NumPy arrays and torch tensors by their type's module,
// anything else DLPack.
Framework framework_of(nb::handle object);

// The DType of a DLPack element type; throws a TypeError naming `what` for one Kiln has not.
DType dtype_of(const nb::dlpack::dtype& dtype, const std::string& what);
nb::dlpack::dtype dlpack_dtype(DType dtype);

// Arrays by input name.
using Arrays = std::map<std::string, InputArray>;
// Every value of `arrays` read once (each read of a torch tensor is a DLPack export).
Arrays read_arrays(const nb::dict& arrays, const char* kind);

// `value` read as an array; throws a TypeError naming `what` for an object that is not one.
// torch CUDA tensors are read from their attributes (data_ptr, shape, stride, dtype,
// get_device), the rest through DLPack or the buffer protocol.
InputArray as_array(nb::handle value, const std::string& what);

// A torch CUDA tensor (exactly torch.Tensor, of a dtype Kiln has) read from its attributes;
// nullopt for anything else.
std::optional<InputArray> torch_cuda_input(nb::handle value);
std::optional<OutputArray> torch_cuda_output(nb::handle value);

// `value` read as an array Kiln writes an output into; throws a TypeError naming `what` for an
// object that is not one.
OutputArray as_output_array(nb::handle value, const std::string& what);

// "[2, 3]" for an array's shape.
std::string shape_text(const InputArray& array);
Dims dims_of(const InputArray& array);
bool is_contiguous(const InputArray& array);
bool on_cuda(const InputArray& array);

// A host array as a Tensor of `expected` dtype, copied (strided arrays are gathered).
// `bf16_view`: a uint16 array that holds bfloat16 bits (NumPy's ml_dtypes.bfloat16 viewed as
// uint16, NumPy having no bfloat16 of its own). Throws TypeError for another dtype, naming
// the input.
Tensor host_tensor(const InputArray& array, const std::string& name, DType expected,
                   bool bf16_view);

// A host tensor as an array of `framework`, owning the tensor's bytes (no copy). NumPy gets
// bfloat16 as uint16 bits, which the Python layer views as ml_dtypes.bfloat16.
nb::object host_array(Tensor tensor, Framework framework);

// Device memory as an array of `framework` (NumPy has none: DLPack instead) on CUDA device
// `device`; `owner` keeps the bytes alive.
nb::object device_array(void* data, DType dtype, const Dims& dims, int device, nb::handle owner,
                        Framework framework);

}  // namespace kiln::python
