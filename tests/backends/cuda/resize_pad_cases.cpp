// Op harness cases of Pad and Resize. Pad: each mode in every storage dtype, pads on several
// axes, negative pads (crops), pads longer than the axis (wrap, edge), ranks 0 to 5, an empty
// axis, the constant converted to the data's dtype. Resize: nearest in each rounding and
// coordinate mode, up and down, sizes or fractional scales, every storage dtype; linear over
// one, two and three axes in each coordinate mode, in fp32, fp16, bf16 and float64.
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

using Ints = std::vector<int64_t>;
using Floats = std::vector<double>;

const char* const kPadModes[] = {"constant", "reflect", "edge", "wrap"};
const char* const kCoordinateModes[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                        "align_corners", "asymmetric"};
const char* const kNearestModes[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};

// "half_pixel_symmetric" → "HalfPixelSymmetric", for test names.
std::string camel(const std::string& snake) {
  std::string name;
  bool upper = true;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
      continue;
    }
    name += upper ? char(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return name;
}

OpCase pad_case(DType dtype, const std::string& mode, const std::string& shape_name, Dims dims,
                Ints pads, double value = 0.0) {
  return OpCase{.op = "Pad",
                .name = camel(mode) + shape_name,
                .inputs = {data(dtype, std::move(dims))},
                .attrs = {{"mode", mode}, {"pads", std::move(pads)}, {"value", value}}};
}

std::vector<OpCase> pad_cases() {
  std::vector<OpCase> cases;
  for (const char* mode : kPadModes) {
    add_for_each_data_kind(cases, [&](DType dtype) {
      return pad_case(dtype, mode, "ThreeAxes", {3, 4, 5}, {1, 0, 2, 2, 1, 3});
    });
    // Begins -1, 2, -2 and ends 0, -1, 3: crops and pads on one tensor.
    add_for_each_data_kind(cases, [&](DType dtype) {
      return pad_case(dtype, mode, "CropAndPad", {2, 5, 6}, {-1, 2, -2, 0, -1, 3});
    });
    add_for_each_data_kind(cases, [&](DType dtype) {
      return pad_case(dtype, mode, "Rank1", {7}, {3, 2});
    });
    add_for_each_data_kind(cases, [&](DType dtype) {
      return pad_case(dtype, mode, "Rank4", {2, 3, 4, 5}, {0, 1, 1, 0, 1, 0, 2, 3});
    });
    cases.push_back(pad_case(DType::Undefined, mode, "Rank2", {4, 6}, {1, 2, 3, 0}));
    cases.push_back(
        pad_case(DType::Undefined, mode, "Rank5", {2, 2, 3, 3, 4}, {1, 0, 1, 0, 2, 0, 1, 1, 2, 1}));
    // A conv net's spatial padding: enough elements for many blocks.
    cases.push_back(
        pad_case(DType::Undefined, mode, "Spatial", {2, 3, 64, 64}, {0, 0, 3, 3, 0, 0, 3, 3}));
    cases.push_back(pad_case(DType::Undefined, mode, "CropOnly", {5, 6}, {-1, -2, -3, 0}));
  }
  // Pads longer than the axis: wrap goes round it several times, edge repeats the last element.
  for (const char* mode : {"constant", "edge", "wrap"}) {
    add_for_each_data_kind(cases, [&](DType dtype) {
      return pad_case(dtype, mode, "LongerThanAxis", {3, 2}, {4, 5, 7, 3}, 2.0);
    });
  }
  // The constant as the reference converts it: 7.75 → 7 for integers, true for bool.
  add_for_each_data_kind(cases, [](DType dtype) {
    return pad_case(dtype, "constant", "ValueConverted", {3, 4}, {1, 2, 2, 1}, 7.75);
  });
  cases.push_back(
      pad_case(DType::Undefined, "constant", "NegativeValue", {3, 4}, {1, 1, 1, 1}, -2.5));
  cases.push_back(pad_case(DType::Undefined, "constant", "EmptyAxis", {0, 3}, {2, 1, 1, 0}, 1.5));
  cases.push_back(pad_case(DType::Undefined, "constant", "Scalar", {}, {}));
  return cases;
}

// A Resize of `in` to `sizes` (-1: floor(dim * scale)), with `scales` where given.
OpCase resize_case(const std::string& name, InputSpec in, Ints sizes, Floats scales,
                   const std::string& mode, const std::string& coordinates,
                   const std::string& nearest = "round_prefer_floor") {
  Attrs attrs = {{"mode", mode},
                 {"coordinate_transformation_mode", coordinates},
                 {"nearest_mode", nearest},
                 {"sizes", std::move(sizes)}};
  if (!scales.empty()) attrs["scales"] = std::move(scales);
  return OpCase{.op = "Resize", .name = name, .inputs = {std::move(in)}, .attrs = std::move(attrs)};
}

std::vector<OpCase> resize_nearest_cases() {
  std::vector<OpCase> cases;
  for (const char* coordinates : kCoordinateModes) {
    for (const char* nearest : kNearestModes) {
      std::string name = "Nearest" + camel(coordinates) + camel(nearest);
      auto add = [&](const std::string& suffix, InputSpec in, Ints sizes, Floats scales) {
        OpCase op_case = resize_case(name + suffix, std::move(in), std::move(sizes),
                                     std::move(scales), "nearest", coordinates, nearest);
        op_case.exact = true;
        cases.push_back(std::move(op_case));
      };
      add("Up", floats({1, 2, 5, 7}), {1, 2, 9, 12}, {});
      add("Down", floats({1, 2, 9, 12}), {1, 2, 5, 7}, {});
      // Fractional output lengths (5 * 2.5 = 12.5, 7 * 0.6 = 4.2) move the coordinates.
      add("Scales", floats({2, 5, 7}), {-1, -1, -1}, {1.0, 2.5, 0.6});
    }
  }
  add_for_each_data_kind(cases, [](DType dtype) {
    return resize_case("NearestData", data(dtype, {2, 3, 4, 6}), {2, 3, 7, 4}, {}, "nearest",
                       "asymmetric", "floor");
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return resize_case("NearestRank1", data(dtype, {9}), {20}, {}, "nearest", "half_pixel");
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return resize_case("NearestRank5", data(dtype, {2, 3, 4, 3, 5}), {2, 5, 2, 6, 5}, {}, "nearest",
                       "pytorch_half_pixel", "round_prefer_ceil");
  });
  // Same size, another scale: the coordinates still move.
  add_for_each_data_kind(cases, [](DType dtype) {
    return resize_case("NearestSameSizeOtherScale", data(dtype, {3, 8}), {3, 8}, {1.0, 1.7},
                       "nearest", "half_pixel", "round_prefer_ceil");
  });
  add_for_each_data_kind(cases, [](DType dtype) {
    return resize_case("NearestLarge", data(dtype, {2, 4, 48, 40}), {2, 4, 96, 100}, {}, "nearest",
                       "asymmetric", "floor");
  });
  return cases;
}

std::vector<OpCase> resize_linear_cases() {
  std::vector<OpCase> cases;
  for (const char* coordinates : kCoordinateModes) {
    std::string name = "Linear" + camel(coordinates);
    auto add = [&](const std::string& suffix, InputSpec in, Ints sizes, Floats scales = {}) {
      cases.push_back(resize_case(name + suffix, std::move(in), std::move(sizes), std::move(scales),
                                  "linear", coordinates));
    };
    add("1D", floats({3, 10}), {3, 17});
    add("1DDown", floats({3, 17}), {3, 6});
    add("2D", floats({2, 3, 6, 8}), {2, 3, 11, 5});  // up on one axis, down on the other
    add("3D", floats({1, 2, 4, 5, 6}), {1, 2, 7, 3, 9});
    add("Scales", floats({2, 5, 7}), {-1, -1, -1}, {1.0, 2.5, 0.6});
    add("ToOne", floats({2, 6}), {2, 1});  // an output length of 1
    add("SameSizeOtherScale", floats({3, 8}), {3, 8}, {1.0, 1.7});
    add("Large", floats({2, 4, 48, 40}), {2, 4, 96, 100});
    add("Float64", typed(DType::Float64, {2, 5, 6}, -3, 3), {2, 9, 4});
  }
  return cases;
}

}  // namespace

std::vector<OpCase> resize_pad_cases() {
  return concatenated({pad_cases(), resize_nearest_cases(), resize_linear_cases()});
}

INSTANTIATE_TEST_SUITE_P(ResizePad, CudaOpTest, testing::ValuesIn(op_runs(resize_pad_cases())),
                         op_run_name);

}  // namespace kiln::cuda_test
