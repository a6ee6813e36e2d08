// Base64 as RFC 4648 writes it (its test vectors), binary round trips, and malformed text
// refused with the offending character named.
#include "core/base64.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace kiln {
namespace {

TEST(Base64Test, MatchesTheRfcVectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded) << plain;
    EXPECT_EQ(base64_decode(encoded), plain) << encoded;
  }
}

TEST(Base64Test, RoundTripsEveryByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t length : {0, 1, 2, 3, 4, 255, 256}) {
    std::string piece = bytes.substr(0, length);
    EXPECT_EQ(base64_decode(base64_encode(piece)), piece) << length;
  }
}

TEST(Base64Test, RefusesMalformedText) {
  EXPECT_THROW(base64_decode("Zm9"), Error);       // not a multiple of 4
  EXPECT_THROW(base64_decode("Zm9*"), Error);      // outside the alphabet
  EXPECT_THROW(base64_decode("Z==="), Error);      // too much padding
  EXPECT_THROW(base64_decode("Zg==Zg=="), Error);  // padding before the end
  try {
    base64_decode("Zm!v");
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("'!' at offset 2"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace kiln
