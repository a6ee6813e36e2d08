// NumPy .npy reading and writing. The header is a Python dict literal; it is parsed by a
// small strict reader that accepts only what numpy writes (strings, booleans, int tuples).
#include "core/tensor_io.h"

#include <array>
#include <bit>
#include <cctype>
#include <cstring>
#include <limits>
#include <optional>
#include <sstream>

#include "core/file.h"

namespace kiln {
namespace {

static_assert(std::endian::native == std::endian::little,
              "tensor files assume a little-endian host");

constexpr std::string_view kNpyMagic = "\x93NUMPY";
constexpr size_t kNpyAlignment = 64;  // numpy pads the header so data starts 64-aligned

struct NpyType {
  char kind;      // 'f', 'i', 'u', 'b'
  int item_size;  // bytes
  DType dtype;
};
constexpr std::array<NpyType, 9> kNpyTypes{{{'f', 4, DType::Float32},
                                            {'f', 8, DType::Float64},
                                            {'f', 2, DType::Float16},
                                            {'i', 1, DType::Int8},
                                            {'i', 2, DType::Int16},
                                            {'i', 4, DType::Int32},
                                            {'i', 8, DType::Int64},
                                            {'u', 1, DType::UInt8},
                                            {'b', 1, DType::Bool}}};

// The fields of a parsed .npy header dict.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Dims shape;
};

// Reads the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const std::string& source)
      : text_(text), source_(source) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        header.descr = parse_string();
        seen_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = parse_bool();
        seen_order = true;
      } else if (key == "shape") {
        header.shape = parse_int_tuple();
        seen_shape = true;
      } else {
        bad("unexpected key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') ++pos_;
    }
    expect('}');
    if (!seen_descr || !seen_order || !seen_shape) {
      bad("header lacks one of 'descr', 'fortran_order', 'shape'");
    }
    return header;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(ErrorKind::InvalidArgument, "'", source_, "' is not a valid .npy file: ", what,
         " in header at character ", pos_);
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  void expect(char wanted) {
    skip_space();
    if (peek() != wanted) bad(std::string("expected '") + wanted + "'");
    ++pos_;
  }
  std::string parse_string() {
    skip_space();
    char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string value(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return value;
  }
  bool parse_bool() {
    skip_space();
    for (auto [word, value] : {std::pair{std::string_view("True"), true}, {"False", false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    bad("expected True or False");
  }
  int64_t parse_int() {
    skip_space();
    if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("expected a dimension");
    int64_t value = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      int digit = peek() - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) bad("dimension too large");
      value = value * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L') ++pos_;  // Python 2 long suffix in old files
    return value;
  }
  Dims parse_int_tuple() {
    expect('(');
    Dims dims;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      dims.push_back(parse_int());
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        bad("expected ',' or ')' in shape");
      }
    }
    ++pos_;
    return dims;
  }

  std::string_view text_;
  const std::string& source_;
  size_t pos_ = 0;
};

DType npy_dtype(const std::string& descr, const std::string& source) {
  if (descr.size() >= 2 && descr[1] == 'O') {
    fail(ErrorKind::InvalidArgument, "'", source,
         "' holds a numpy object array; save a numeric array instead");
  }
  check(descr.size() >= 3, ErrorKind::Unsupported, "'", source, "' has an unsupported .npy dtype '",
        descr, "'");
  char byte_order = descr[0];
  char kind = descr[1];
  int item_size = 0;
  for (char digit : descr.substr(2)) {
    check(std::isdigit(static_cast<unsigned char>(digit)) && item_size < 1000,
          ErrorKind::Unsupported, "'", source, "' has an unsupported .npy dtype '", descr, "'");
    item_size = item_size * 10 + (digit - '0');
  }
  for (const NpyType& type : kNpyTypes) {
    if (type.kind != kind || type.item_size != item_size) continue;
    if (byte_order == '>' && item_size > 1) {
      fail(ErrorKind::InvalidArgument, "'", source, "' is big-endian (dtype '", descr,
           "'); save it little-endian, e.g. with arr.astype(arr.dtype.newbyteorder('<'))");
    }
    check(byte_order == '<' || byte_order == '|' || byte_order == '=' || byte_order == '>',
          ErrorKind::InvalidArgument, "'", source, "' has a bad byte order in dtype '", descr, "'");
    return type.dtype;
  }
  fail(ErrorKind::Unsupported, "'", source, "' has .npy dtype '", descr,
       "', which Kiln does not read (supported: f2 f4 f8 i1 i2 i4 i8 u1 b1)");
}

uint32_t read_little_endian(std::string_view bytes, size_t offset, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

std::string npy_descr(DType dtype) {
  for (const NpyType& type : kNpyTypes) {
    if (type.dtype == dtype) {
      char order = type.item_size == 1 ? '|' : '<';
      return std::string{order, type.kind} + std::to_string(type.item_size);
    }
  }
  fail(ErrorKind::Unsupported, "cannot write a ", dtype_name(dtype), " tensor as .npy");
}

}  // namespace

int64_t checked_element_count(const Dims& dims, const std::string& source) {
  try {
    return element_count(dims);
  } catch (const Error& error) {
    fail(ErrorKind::InvalidArgument, "'", source, "': ", error.what());
  }
}

void normalize_bool_bytes(Tensor& tensor) {
  if (tensor.dtype() != DType::Bool) return;
  auto* bytes = static_cast<uint8_t*>(tensor.raw_mutable());
  for (int64_t i = 0; i < tensor.numel(); ++i) bytes[i] = bytes[i] != 0;
}

Tensor decode_npy(std::string_view bytes, const std::string& source) {
  auto bad = [&](const auto&... what) {
    fail(ErrorKind::InvalidArgument, "'", source, "' is not a valid .npy file: ", what...);
  };
  if (bytes.size() < 10 || bytes.substr(0, kNpyMagic.size()) != kNpyMagic) {
    bad("missing the \\x93NUMPY magic");
  }
  auto major = static_cast<uint8_t>(bytes[6]);
  if (major < 1 || major > 3) bad("unknown format version ", int(major));
  size_t length_width = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + length_width) bad("truncated header");
  size_t header_length = read_little_endian(bytes, 8, length_width);
  size_t header_start = 8 + length_width;
  if (header_length > bytes.size() - header_start) bad("truncated header");
  NpyHeader header = NpyHeaderParser(bytes.substr(header_start, header_length), source).parse();

  DType dtype = npy_dtype(header.descr, source);
  if (header.fortran_order && header.shape.size() > 1) {
    fail(ErrorKind::InvalidArgument, "'", source,
         "' is in Fortran order; save it in C order, e.g. np.save(f, np.ascontiguousarray(a))");
  }
  int64_t count = checked_element_count(header.shape, source);
  size_t data_start = header_start + header_length;
  size_t available = bytes.size() - data_start;
  if (static_cast<uint64_t>(count) > available / dtype_size(dtype) ||
      static_cast<size_t>(count) * dtype_size(dtype) != available) {
    bad("shape ", dims_to_string(header.shape), " of ", dtype_name(dtype), " needs ",
        static_cast<uint64_t>(count), " elements but the file has ", available,
        " data bytes (truncated or corrupt)");
  }
  Tensor tensor = Tensor::from_bytes(dtype, header.shape, bytes.data() + data_start, available);
  normalize_bool_bytes(tensor);
  return tensor;
}

std::string encode_npy(const Tensor& tensor) {
  check(tensor.defined(), ErrorKind::InvalidArgument, "cannot write an empty tensor as .npy");
  const Tensor& stored = tensor.dtype() == DType::BFloat16 ? tensor.to(DType::Float32) : tensor;
  std::ostringstream dict;
  dict << "{'descr': '" << npy_descr(stored.dtype()) << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < stored.dims().size(); ++i) {
    dict << (i ? ", " : "") << stored.dims()[i];
  }
  dict << (stored.dims().size() == 1 ? ",), }" : "), }");
  std::string header = dict.str();

  size_t length_width = header.size() + 11 < 65536 ? 2 : 4;  // v1.0 if it fits
  size_t prefix = 8 + length_width;
  size_t padded = (prefix + header.size() + 1 + kNpyAlignment - 1) / kNpyAlignment * kNpyAlignment;
  header.append(padded - prefix - header.size() - 1, ' ');
  header.push_back('\n');

  std::string out(kNpyMagic);
  out.push_back(static_cast<char>(length_width == 2 ? 1 : 2));
  out.push_back(0);
  for (size_t i = 0; i < length_width; ++i) {
    out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  }
  out += header;
  out.append(static_cast<const char*>(stored.raw()), stored.nbytes());
  return out;
}

Tensor read_npy(const std::filesystem::path& path) {
  return decode_npy(read_file(path), path.string());
}

void write_npy(const std::filesystem::path& path, const Tensor& tensor) {
  std::string bytes = encode_npy(tensor);
  write_file(path, bytes.data(), bytes.size());
}

bool is_safetensors_path(const std::filesystem::path& path) {
  return path.extension() == ".safetensors";
}

}  // namespace kiln
