// The lexer for TorchScript source: Python's indentation rules, with lines joined inside
// brackets, and only the token kinds that serialized TorchScript contains.
#include "frontends/torchscript/script_lexer.h"

#include <cctype>

#include "core/error.h"

namespace kiln::torchscript {
namespace {

class Lexer {
 public:
  Lexer(std::string_view source, const std::string& file) : source_(source), file_(file) {}

  std::vector<Token> run() {
    while (position_ < source_.size()) {
      if (at_line_start_) {
        if (depth_ > 0) {
          at_line_start_ = false;  // a continuation line inside brackets
        } else if (!indentation()) {
          continue;
        }
      }
      char c = source_[position_];
      if (c == '\n') {
        ++position_;
        if (depth_ == 0 && !tokens_.empty() && tokens_.back().kind != Token::Kind::Newline) {
          emit(Token::Kind::Newline, "");
        }
        ++line_;
        at_line_start_ = true;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++position_;
      } else if (c == '#') {
        while (position_ < source_.size() && source_[position_] != '\n') ++position_;
      } else if (c == '\\' && position_ + 1 < source_.size() && source_[position_ + 1] == '\n') {
        position_ += 2;
        ++line_;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t begin = position_;
        while (position_ < source_.size() &&
               (std::isalnum(static_cast<unsigned char>(source_[position_])) ||
                source_[position_] == '_')) {
          ++position_;
        }
        emit(Token::Kind::Name, std::string(source_.substr(begin, position_ - begin)));
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 (c == '.' && position_ + 1 < source_.size() &&
                  std::isdigit(static_cast<unsigned char>(source_[position_ + 1])))) {
        number();
      } else if (c == '"' || c == '\'') {
        string(c);
      } else {
        op();
      }
    }
    if (!tokens_.empty() && tokens_.back().kind != Token::Kind::Newline)
      emit(Token::Kind::Newline, "");
    while (indents_.size() > 1) {
      indents_.pop_back();
      emit(Token::Kind::Dedent, "");
    }
    emit(Token::Kind::End, "");
    return std::move(tokens_);
  }

 private:
  template <typename... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    fail(ErrorKind::InvalidModel, file_, " line ", line_, ": ", parts...);
  }
  void emit(Token::Kind kind, std::string text) {
    tokens_.push_back({kind, std::move(text), line_});
  }

  // Measures a line's indentation; false when the line is blank (nothing to emit).
  bool indentation() {
    size_t width = 0;
    while (position_ < source_.size() &&
           (source_[position_] == ' ' || source_[position_] == '\t')) {
      ++width;
      ++position_;
    }
    at_line_start_ = false;
    if (position_ >= source_.size()) return false;
    char c = source_[position_];
    if (c == '\n' || c == '#' || c == '\r') return true;  // blank or comment line
    if (width > indents_.back()) {
      indents_.push_back(width);
      emit(Token::Kind::Indent, "");
    }
    while (width < indents_.back()) {
      indents_.pop_back();
      emit(Token::Kind::Dedent, "");
    }
    if (width != indents_.back()) bad("inconsistent indentation");
    return true;
  }

  void number() {
    size_t begin = position_;
    bool is_float = false;
    while (position_ < source_.size()) {
      char c = source_[position_];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        ++position_;
      } else if (c == '.' || c == 'e' || c == 'E') {
        is_float = true;
        ++position_;
        if ((c == 'e' || c == 'E') && position_ < source_.size() &&
            (source_[position_] == '-' || source_[position_] == '+')) {
          ++position_;
        }
      } else {
        break;
      }
    }
    emit(is_float ? Token::Kind::Float : Token::Kind::Int,
         std::string(source_.substr(begin, position_ - begin)));
  }

  void string(char quote) {
    ++position_;
    std::string value;
    while (true) {
      if (position_ >= source_.size() || source_[position_] == '\n') bad("unterminated string");
      char c = source_[position_++];
      if (c == quote) break;
      if (c == '\\' && position_ < source_.size()) c = source_[position_++];
      value.push_back(c);
    }
    emit(Token::Kind::String, std::move(value));
  }

  void op() {
    static constexpr std::string_view kTwoChar[] = {"->", "//", "**", "==", "!=", "<=", ">="};
    for (std::string_view two : kTwoChar) {
      if (source_.substr(position_, 2) == two) {
        position_ += 2;
        emit(Token::Kind::Op, std::string(two));
        return;
      }
    }
    char c = source_[position_];
    if (std::string_view("()[]{},:.=+-*/%<>@|&~").find(c) == std::string_view::npos) {
      bad("unexpected character '", c, "'");
    }
    if (c == '(' || c == '[' || c == '{') ++depth_;
    if ((c == ')' || c == ']' || c == '}') && depth_ > 0) --depth_;
    ++position_;
    emit(Token::Kind::Op, std::string(1, c));
  }

  std::string_view source_;
  const std::string& file_;
  size_t position_ = 0;
  int line_ = 1;
  int depth_ = 0;
  bool at_line_start_ = true;
  std::vector<size_t> indents_{0};
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> lex_script(std::string_view source, const std::string& file) {
  return Lexer(source, file).run();
}

}  // namespace kiln::torchscript
