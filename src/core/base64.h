// Base64 (RFC 4648, with padding): binary data such as compiled kernels inside JSON files.
#pragma once

#include <string>
#include <string_view>

namespace kiln {

std::string base64_encode(std::string_view bytes);
// Throws InvalidArgument for text that is not base64 (a wrong character or length).
std::string base64_decode(std::string_view text);

}  // namespace kiln
