// Op harness cases of the indexing kernels: GatherElements, ScatterElements, ScatterND and GatherND
// (int32 and int64 indices, negative ones wrapping; scatter duplicates and reductions), Trilu (with
// and without k), CumSum and CumProd (block scans of long rows, strided lines, exclusive, reverse),
// in every storage dtype they take.
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

std::string axis_label(int64_t axis) {
  return axis < 0 ? "AxisNeg" + std::to_string(-axis) : "Axis" + std::to_string(axis);
}

// Indices in [-bound, bound): the negative ones exercise the wrap-around.
InputSpec indices(DType dtype, Dims dims, int64_t bound) {
  return typed(dtype, std::move(dims), double(-bound), double(bound));
}

std::vector<OpCase> gather_elements_cases() {
  std::vector<OpCase> cases;
  const Dims data_dims = {4, 5, 6};
  for (DType index_dtype : {DType::Int32, DType::Int64}) {
    for (int64_t axis : {0, 1, -1}) {
      size_t on_axis = size_t(axis < 0 ? axis + 3 : axis);
      Dims index_dims = {3, 5, 4};
      index_dims[on_axis] = 7;  // the gathered axis may be longer than the data's
      add_for_each_data_kind(cases, [&](DType dtype) {
        return OpCase{.op = "GatherElements",
                      .name = axis_label(axis) + dtype_label(index_dtype) + "Indices",
                      .inputs = {data(dtype, data_dims),
                                 indices(index_dtype, index_dims, data_dims[on_axis])},
                      .attrs = {{"axis", axis}}};
      });
    }
  }
  return cases;
}

// ScatterElements: indices longer than data on the axis (so duplicates), shorter off it, with
// negative ones; none in every data kind (bit for bit), each reduction on floats and integers.
std::vector<OpCase> scatter_elements_cases() {
  std::vector<OpCase> cases;
  const Dims data_dims = {4, 5, 6};
  for (int64_t axis : {0, 1, -1}) {
    size_t on_axis = size_t(axis < 0 ? axis + 3 : axis);
    Dims index_dims = {3, 4, 5};
    index_dims[on_axis] = 9;
    for (DType index_dtype : {DType::Int32, DType::Int64}) {
      add_for_each_data_kind(cases, [&](DType dtype) {
        return OpCase{
            .op = "ScatterElements",
            .name = axis_label(axis) + dtype_label(index_dtype) + "Indices",
            .inputs = {data(dtype, data_dims), indices(index_dtype, index_dims, data_dims[on_axis]),
                       data(dtype, index_dims)},
            .attrs = {{"axis", axis}}};
      });
    }
    for (const char* reduction : {"add", "mul", "max", "min"}) {
      for (DType dtype : {DType::Undefined, DType::Int32, DType::Int64}) {
        std::string label = dtype == DType::Undefined ? "" : dtype_label(dtype);
        cases.push_back({.op = "ScatterElements",
                         .name = axis_label(axis) + "Reduce" + reduction + label,
                         .inputs = {data(dtype, data_dims),
                                    indices(DType::Int64, index_dims, data_dims[on_axis]),
                                    data(dtype, index_dims)},
                         .attrs = {{"axis", axis}, {"reduction", std::string(reduction)}}});
      }
    }
  }
  return cases;
}

// ScatterND: more lookups than distinct tuples (duplicates), slices of 1 and of 6 elements,
// negative indices; none in every data kind, each reduction on floats and int64.
std::vector<OpCase> scatter_nd_cases() {
  std::vector<OpCase> cases;
  struct Shapes {
    const char* name;
    Dims index_dims, update_dims;
  };
  const Dims data_dims = {4, 5, 6};
  const Shapes shapes[] = {{"Elements", {30, 3}, {30}}, {"Rows", {2, 9, 2}, {2, 9, 6}}};
  for (const Shapes& s : shapes) {
    add_for_each_data_kind(cases, [&](DType dtype) {
      return OpCase{.op = "ScatterND",
                    .name = s.name,
                    .inputs = {data(dtype, data_dims), indices(DType::Int64, s.index_dims, 4),
                               data(dtype, s.update_dims)}};
    });
    for (const char* reduction : {"add", "mul", "max", "min"}) {
      for (DType dtype : {DType::Undefined, DType::Int64}) {
        std::string label = dtype == DType::Undefined ? "" : dtype_label(dtype);
        cases.push_back({.op = "ScatterND",
                         .name = std::string(s.name) + "Reduce" + reduction + label,
                         .inputs = {data(dtype, data_dims), indices(DType::Int64, s.index_dims, 4),
                                    data(dtype, s.update_dims)},
                         .attrs = {{"reduction", std::string(reduction)}}});
      }
    }
  }
  return cases;
}

std::vector<OpCase> gather_nd_cases() {
  struct Shapes {
    const char* name;
    Dims data;
    Dims indices;
    int64_t batch_dims;
    int64_t bound;  // the smallest addressed data dim
  };
  const Shapes shapes[] = {{"Slices", {4, 5, 6}, {3, 2}, 0, 4},
                           {"Elements", {4, 5, 6}, {2, 3, 3}, 0, 4},
                           {"OneBatchDim", {4, 5, 6}, {4, 2, 1}, 1, 5},
                           {"TwoBatchDims", {3, 4, 5, 2}, {3, 4, 2}, 2, 2}};
  std::vector<OpCase> cases;
  for (DType index_dtype : {DType::Int32, DType::Int64}) {
    for (const Shapes& s : shapes) {
      add_for_each_data_kind(cases, [&](DType dtype) {
        OpCase op_case{.op = "GatherND",
                       .name = s.name + dtype_label(index_dtype) + "Indices",
                       .inputs = {data(dtype, s.data), indices(index_dtype, s.indices, s.bound)},
                       .attrs = {{"batch_dims", s.batch_dims}}};
        // The IR takes int64 indices only (as ONNX does); the kernel takes int32 too.
        if (index_dtype == DType::Int32) op_case.reference = cpu_kernel_outputs;
        return op_case;
      });
    }
  }
  return cases;
}

std::vector<OpCase> trilu_cases() {
  std::vector<OpCase> cases;
  const std::pair<const char*, Dims> shapes[] = {{"Batched", {2, 5, 7}}, {"Tall", {6, 3}}};
  for (const auto& [shape_name, dims] : shapes) {
    for (int64_t upper : {0, 1}) {
      std::string name = std::string(shape_name) + (upper ? "Upper" : "Lower");
      add_for_each_data_kind(cases, [&](DType dtype) {
        return OpCase{.op = "Trilu",
                      .name = name,
                      .inputs = {data(dtype, dims)},
                      .attrs = {{"upper", upper}}};
      });
      for (int64_t k : {-1, 2, 10}) {
        std::string with_k = name + "K" + (k < 0 ? "Neg" : "") + std::to_string(std::abs(k));
        add_for_each_data_kind(cases, [&](DType dtype) {
          return OpCase{.op = "Trilu",
                        .name = with_k,
                        .inputs = {data(dtype, dims), given(Tensor::scalar<int64_t>(k))},
                        .attrs = {{"upper", upper}}};
        });
      }
    }
  }
  return cases;
}

std::vector<OpCase> cumsum_cases() {
  struct Shape {
    const char* name;
    Dims dims;
    int64_t axis;
  };
  // Long rows (block scan, several chunks), short strided lines (one thread each), and long
  // strided lines (block scan with a stride).
  const Shape shapes[] = {{"LongRows", {3, 300}, 1},
                          {"OneLongLine", {1000}, 0},
                          {"ShortStrided", {2, 5, 7}, 1},
                          {"Columns", {40, 3}, 0},
                          {"LongStrided", {2, 130, 3}, -2}};
  std::vector<OpCase> cases;
  for (const Shape& s : shapes) {
    for (int64_t exclusive : {0, 1}) {
      for (int64_t reverse : {0, 1}) {
        std::string name =
            std::string(s.name) + (exclusive ? "Exclusive" : "") + (reverse ? "Reverse" : "");
        for (DType dtype : {DType::Undefined, DType::Int32, DType::Int64}) {
          cases.push_back(
              {.op = "CumSum",
               .name = name + (dtype == DType::Undefined ? "" : dtype_label(dtype)),
               .inputs = {data(dtype, s.dims)},
               .attrs = {{"axis", s.axis}, {"exclusive", exclusive}, {"reverse", reverse}}});
        }
      }
    }
  }
  return cases;
}

// CumProd: values near 1 so that long products stay finite and meaningful; integers in
// {-1, 0, 1, 2} wrap the same in any order.
std::vector<OpCase> cumprod_cases() {
  std::vector<OpCase> cases;
  struct Shape {
    const char* name;
    Dims dims;
    int64_t axis;
  };
  const Shape shapes[] = {
      {"LongRows", {3, 300}, 1}, {"ShortStrided", {2, 5, 7}, -2}, {"LongStrided", {2, 130, 3}, 1}};
  for (const Shape& s : shapes) {
    for (int64_t exclusive : {0, 1}) {
      for (int64_t reverse : {0, 1}) {
        Attrs attrs = {{"axis", s.axis}, {"exclusive", exclusive}, {"reverse", reverse}};
        std::string name =
            std::string(s.name) + (exclusive ? "Exclusive" : "") + (reverse ? "Reverse" : "");
        cases.push_back({.op = "CumProd",
                         .name = name,
                         .inputs = {floats(s.dims, 0.95, 1.05)},
                         .attrs = attrs});
        cases.push_back({.op = "CumProd",
                         .name = name + "Int64",
                         .inputs = {typed(DType::Int64, s.dims, -1, 3)},
                         .attrs = attrs});
      }
    }
  }
  cases.push_back({.op = "CumProd",
                   .name = "Int32Wraps",
                   .inputs = {typed(DType::Int32, {4, 100}, 1, 9)},
                   .attrs = {{"axis", int64_t(-1)}}});
  return cases;
}

}  // namespace

std::vector<OpCase> indexing_cases() {
  return concatenated({gather_elements_cases(), scatter_elements_cases(), scatter_nd_cases(),
                       gather_nd_cases(), trilu_cases(), cumsum_cases(), cumprod_cases()});
}

INSTANTIATE_TEST_SUITE_P(Indexing, CudaOpTest, testing::ValuesIn(op_runs(indexing_cases())),
                         op_run_name);

}  // namespace kiln::cuda_test
