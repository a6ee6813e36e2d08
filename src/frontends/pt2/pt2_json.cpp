// Checked JSON readers for torch.export archives.
#include "frontends/pt2/pt2_json.h"

#include <limits>

namespace kiln::pt2 {

Json parse_json(const std::string& text, const std::string& what) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& error) {
    fail(ErrorKind::InvalidModel, what, ": malformed JSON at byte ", error.byte, " (", error.what(),
         ")");
  }
}

std::string path_of(const std::string& where, std::string_view key) {
  return where + "." + std::string(key);
}

std::string path_of(const std::string& where, size_t index) {
  return where + "[" + std::to_string(index) + "]";
}

const Json* optional_member(const Json& object, std::string_view key, const std::string& where) {
  if (!object.is_object()) malformed(where, "expected an object, got ", object.type_name());
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

const Json& member(const Json& object, std::string_view key, const std::string& where) {
  const Json* value = optional_member(object, key, where);
  if (value == nullptr) malformed(where, "the key '", key, "' is missing");
  return *value;
}

const Json& array_member(const Json& object, std::string_view key, const std::string& where) {
  const Json& value = member(object, key, where);
  if (!value.is_array()) malformed(path_of(where, key), "expected a list, got ", value.type_name());
  return value;
}

const Json& object_member(const Json& object, std::string_view key, const std::string& where) {
  const Json& value = member(object, key, where);
  if (!value.is_object())
    malformed(path_of(where, key), "expected an object, got ", value.type_name());
  return value;
}

std::string string_value(const Json& value, const std::string& where) {
  if (!value.is_string()) malformed(where, "expected a string, got ", value.type_name());
  return value.get<std::string>();
}

int64_t int_value(const Json& value, const std::string& where) {
  if (value.is_number_unsigned()) {
    uint64_t number = value.get<uint64_t>();
    if (number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      malformed(where, "the integer ", number, " is out of range");
    }
    return static_cast<int64_t>(number);
  }
  if (!value.is_number_integer()) malformed(where, "expected an integer, got ", value.type_name());
  return value.get<int64_t>();
}

double float_value(const Json& value, const std::string& where) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text == "Infinity" || text == "inf") return std::numeric_limits<double>::infinity();
    if (text == "-Infinity" || text == "-inf") return -std::numeric_limits<double>::infinity();
    if (text == "NaN" || text == "nan") return std::numeric_limits<double>::quiet_NaN();
  }
  malformed(where, "expected a number, got ", value.dump());
}

bool bool_value(const Json& value, const std::string& where) {
  if (!value.is_boolean()) malformed(where, "expected true or false, got ", value.type_name());
  return value.get<bool>();
}

std::pair<std::string, const Json*> union_member(const Json& object, const std::string& where) {
  if (!object.is_object()) malformed(where, "expected an object, got ", object.type_name());
  // Unions hold exactly one field; tolerate explicit nulls for the others.
  std::pair<std::string, const Json*> found{"", nullptr};
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it->is_null() && object.size() > 1) continue;
    if (found.second != nullptr) malformed(where, "expected one of a union's fields, got several");
    found = {it.key(), &*it};
  }
  if (found.second == nullptr) malformed(where, "empty union");
  return found;
}

}  // namespace kiln::pt2
