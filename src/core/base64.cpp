// Base64 encoding and decoding (base64.h).
#include "core/base64.h"

#include <array>
#include <cstdint>

#include "core/error.h"

namespace kiln {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Each character's 6-bit value, -1 for characters outside the alphabet.
constexpr std::array<int8_t, 256> decode_table() {
  std::array<int8_t, 256> table{};
  table.fill(-1);
  for (size_t i = 0; i < kAlphabet.size(); ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    size_t count = std::min<size_t>(3, bytes.size() - i);
    uint32_t triple = 0;
    for (size_t j = 0; j < 3; ++j)
      triple = (triple << 8) | (j < count ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    for (size_t j = 0; j < 4; ++j)
      text += j <= count ? kAlphabet[(triple >> (18 - 6 * j)) & 63] : '=';
  }
  return text;
}

std::string base64_decode(std::string_view text) {
  static constexpr std::array<int8_t, 256> kTable = decode_table();
  check(text.size() % 4 == 0, ErrorKind::InvalidArgument, "base64 text of ", text.size(),
        " characters (a multiple of 4 expected)");
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    size_t padding = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    uint32_t quad = 0;
    for (size_t j = 0; j < 4; ++j) {
      int8_t value = j < 4 - padding ? kTable[static_cast<unsigned char>(text[i + j])] : 0;
      check(value >= 0, ErrorKind::InvalidArgument, "base64 text has the character '", text[i + j],
            "' at offset ", i + j);
      quad = (quad << 6) | static_cast<uint32_t>(value);
    }
    for (size_t j = 0; j < 3 - padding; ++j)
      bytes += static_cast<char>((quad >> (16 - 8 * j)) & 0xff);
  }
  return bytes;
}

}  // namespace kiln
