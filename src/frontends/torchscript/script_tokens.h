// A cursor over the tokens of one TorchScript source file, shared by the statement and
// expression parsers; errors name the file and the current line.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "frontends/torchscript/script_lexer.h"

namespace kiln::torchscript {

class TokenCursor {
 public:
  using TK = Token::Kind;
  TokenCursor(std::vector<Token> tokens, const std::string& file)
      : tokens_(std::move(tokens)), file_(file) {}

  const std::string& file() const { return file_; }
  size_t position() const { return position_; }
  void rewind(size_t position) { position_ = position; }
  const Token& at(size_t index) const { return tokens_.at(index); }

  template <typename... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    fail(ErrorKind::InvalidModel, file_, " line ", peek().line, ": ", parts...);
  }
  const Token& peek(size_t ahead = 0) const {
    size_t index = std::min(position_ + ahead, tokens_.size() - 1);
    return tokens_[index];
  }
  Token next() {
    Token token = peek();
    if (position_ < tokens_.size() - 1) ++position_;
    return token;
  }
  bool is_op(std::string_view op, size_t ahead = 0) const {
    return peek(ahead).kind == TK::Op && peek(ahead).text == op;
  }
  bool is_name(std::string_view name) const {
    return peek().kind == TK::Name && peek().text == name;
  }
  void expect_op(std::string_view op) {
    if (!is_op(op)) bad("expected '", op, "', found '", peek().text, "'");
    next();
  }
  std::string expect_name() {
    if (peek().kind != TK::Name) bad("expected a name, found '", peek().text, "'");
    return next().text;
  }
  void expect(TK kind, const char* what) {
    if (peek().kind != kind) bad("expected ", what, ", found '", peek().text, "'");
    next();
  }

 private:
  std::vector<Token> tokens_;
  const std::string& file_;
  size_t position_ = 0;
};

}  // namespace kiln::torchscript
