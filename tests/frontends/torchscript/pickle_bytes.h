// Pickle bytes written the way torch.jit.save writes them (protocol 2), for the tests that
// build data.pkl, constants.pkl and hostile pickles by hand.
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace kiln::torchscript::pickle_bytes {

// BINUNICODE: a str.
inline std::string text(const std::string& value) {
  std::string out = "X";
  uint32_t n = static_cast<uint32_t>(value.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + value;
}

// BININT: a signed 32-bit int.
inline std::string integer(int32_t value) {
  std::string out = "J";
  uint32_t bits = static_cast<uint32_t>(value);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  return out;
}

inline std::string int_tuple(const Dims& values) {
  std::string out = "(";
  for (int64_t value : values) out += integer(static_cast<int32_t>(value));
  return out + "t";
}

// _rebuild_tensor_v2(('storage', torch.<storage_class>, key, 'cpu', numel), offset, sizes,
// strides, False, OrderedDict()): one value on the stack, without PROTO or STOP.
inline std::string tensor_rebuild(const std::string& storage_class, const std::string& key,
                                  int64_t numel, int64_t offset, const Dims& sizes,
                                  const Dims& strides) {
  return "ctorch._utils\n_rebuild_tensor_v2\n((" + text("storage") + "ctorch\n" + storage_class +
         "\n" + text(key) + text("cpu") + integer(static_cast<int32_t>(numel)) + "tQ" +
         integer(static_cast<int32_t>(offset)) + int_tuple(sizes) + int_tuple(strides) + "\x89" +
         "ccollections\nOrderedDict\n)Rt" + "R";
}

}  // namespace kiln::torchscript::pickle_bytes
