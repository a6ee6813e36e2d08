// Checked access to the JSON of a torch.export archive: every read names where it looked
// ("m.pt2: models/model.json: graph_module.graph.nodes[3].target") when the JSON is wrong.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace kiln::pt2 {

using Json = nlohmann::json;

// Parses `text`; a syntax error is InvalidModel naming `what` and the byte offset.
Json parse_json(const std::string& text, const std::string& what);

template <typename... Parts>
[[noreturn]] void malformed(const std::string& where, const Parts&... parts) {
  fail(ErrorKind::InvalidModel, where, ": ", parts...);
}

// "where.key" and "where[index]" for messages.
std::string path_of(const std::string& where, std::string_view key);
std::string path_of(const std::string& where, size_t index);

// The member `key` of an object; InvalidModel if `object` is not an object or lacks it.
const Json& member(const Json& object, std::string_view key, const std::string& where);
// The member, or null when absent or JSON null.
const Json* optional_member(const Json& object, std::string_view key, const std::string& where);
const Json& array_member(const Json& object, std::string_view key, const std::string& where);
const Json& object_member(const Json& object, std::string_view key, const std::string& where);

std::string string_value(const Json& value, const std::string& where);
int64_t int_value(const Json& value, const std::string& where);
// Numbers, and the strings "Infinity", "-Infinity" and "NaN" that PyTorch writes for them.
double float_value(const Json& value, const std::string& where);
bool bool_value(const Json& value, const std::string& where);

// A one-key union object such as {"as_tensor": {...}}: its key and value.
std::pair<std::string, const Json*> union_member(const Json& object, const std::string& where);

}  // namespace kiln::pt2
