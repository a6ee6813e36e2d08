// Tokens of TorchScript's Python-like source (the code/ files of an archive), with the
// INDENT/DEDENT structure and line numbers that messages quote.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln::torchscript {

struct Token {
  enum class Kind { Name, Int, Float, String, Op, Newline, Indent, Dedent, End };
  Kind kind = Kind::End;
  std::string text;  // the name, the operator, the literal's spelling, the string's value
  int line = 0;
};

// `file` names the source in messages; bad characters and bad indentation are InvalidModel.
std::vector<Token> lex_script(std::string_view source, const std::string& file);

}  // namespace kiln::torchscript
