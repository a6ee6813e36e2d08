// A recursive-descent parser for the statement subset of serialized TorchScript: class
// bodies (only their methods matter), module-level functions, assignments, tuple
// unpacking, returns and if/elif/else; expressions are in script_expression.cpp.
#include "frontends/torchscript/script_expression.h"

namespace kiln::torchscript {
namespace {

using TK = Token::Kind;

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& file)
      : cursor_(std::move(tokens), file), file_(file) {}

  void parse_file(const std::string& module_name, std::map<std::string, ClassDef>& classes) {
    while (peek().kind != TK::End) {
      if (is_name("class")) {
        ClassDef definition = parse_class(module_name);
        std::string name = definition.name;
        classes[name] = std::move(definition);
      } else if (is_name("def")) {
        ClassDef& functions = classes[module_name];
        functions.name = module_name;
        functions.file = file_;
        Method function = parse_method();
        std::string name = function.name;
        functions.methods[name] = std::move(function);
      } else {
        skip_statement();
      }
    }
  }

 private:
  template <typename... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    cursor_.bad(parts...);
  }
  const Token& peek(size_t ahead = 0) const { return cursor_.peek(ahead); }
  Token next() { return cursor_.next(); }
  bool is_op(std::string_view op, size_t ahead = 0) const { return cursor_.is_op(op, ahead); }
  bool is_name(std::string_view name) const { return cursor_.is_name(name); }
  void expect_op(std::string_view op) { cursor_.expect_op(op); }
  std::string expect_name() { return cursor_.expect_name(); }
  void expect(TK kind, const char* what) { cursor_.expect(kind, what); }
  ExprPtr parse_expression() { return torchscript::parse_expression(cursor_); }
  ExprPtr parse_tuple_or_expression() { return torchscript::parse_tuple_or_expression(cursor_); }

  // Skips one simple statement, or a compound one with its indented block.
  void skip_statement() {
    while (peek().kind != TK::Newline && peek().kind != TK::End) next();
    if (peek().kind == TK::Newline) next();
    if (peek().kind == TK::Indent) skip_block();
  }
  void skip_block() {
    int depth = 0;
    do {
      if (peek().kind == TK::End) return;
      Token token = next();
      if (token.kind == TK::Indent) ++depth;
      if (token.kind == TK::Dedent) --depth;
    } while (depth > 0);
  }

  ClassDef parse_class(const std::string& module_name) {
    next();  // class
    ClassDef definition;
    definition.name = module_name + "." + expect_name();
    definition.file = file_;
    while (!is_op(":") && peek().kind != TK::End) next();  // bases
    expect_op(":");
    expect(TK::Newline, "a new line");
    if (peek().kind != TK::Indent) return definition;
    next();
    while (peek().kind != TK::Dedent && peek().kind != TK::End) {
      if (is_name("def")) {
        Method method = parse_method();
        std::string name = method.name;
        definition.methods[name] = std::move(method);
      } else {
        skip_statement();
      }
    }
    if (peek().kind == TK::Dedent) next();
    return definition;
  }

  Method parse_method() {
    Method method;
    method.line = next().line;  // def
    method.name = expect_name();
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
      std::string name = expect_name();
      bool is_self = first && name == "self";
      first = false;
      if (!is_self) method.parameters.push_back(name);
      if (is_self) {
        if (is_op(":")) {
          next();
          skip_type();
        }
        if (is_op(",")) next();
        continue;
      }
      if (is_op(":")) {
        next();
        skip_type();
      }
      method.defaults.emplace_back();
      if (is_op("=")) {
        next();
        method.defaults.back() = parse_expression();
      }
      if (is_op(","))
        next();
      else if (!is_op(")"))
        bad("expected ',' or ')' in the parameters of ", method.name);
    }
    next();
    if (is_op("->")) {
      next();
      skip_type();
    }
    expect_op(":");
    expect(TK::Newline, "a new line");
    expect(TK::Indent, "an indented body");
    method.body = parse_block();
    return method;
  }

  // The statements of an indented block, after its INDENT, through its DEDENT.
  std::vector<Statement> parse_block() {
    std::vector<Statement> statements;
    if (++nesting_ > 100) bad("blocks nest too deeply");
    while (peek().kind != TK::Dedent && peek().kind != TK::End)
      statements.push_back(parse_statement());
    if (peek().kind == TK::Dedent) next();
    --nesting_;
    return statements;
  }

  // `if c:` block, then `elif c:` (an If inside the else) or `else:` block.
  Statement parse_if() {
    Statement statement;
    statement.kind = Statement::Kind::If;
    statement.construct = peek().text;
    statement.line = next().line;  // if / elif
    statement.value = parse_expression();
    expect_op(":");
    expect(TK::Newline, "a new line");
    expect(TK::Indent, "an indented block");
    statement.body = parse_block();
    if (is_name("elif")) {
      statement.orelse.push_back(parse_if());
    } else if (is_name("else")) {
      next();
      expect_op(":");
      expect(TK::Newline, "a new line");
      expect(TK::Indent, "an indented block");
      statement.orelse = parse_block();
    }
    return statement;
  }

  // A type annotation: dotted names with optional [..] arguments.
  void skip_type() {
    int depth = 0;
    while (peek().kind != TK::End) {
      if (depth == 0 && (is_op(",") || is_op(")") || is_op(":") || is_op("="))) return;
      if (is_op("[")) ++depth;
      if (is_op("]")) --depth;
      next();
    }
  }

  Statement parse_statement() {
    Statement statement;
    statement.line = peek().line;
    static constexpr std::string_view kCompound[] = {
        "if",     "elif",    "else",  "for",    "while", "with",     "try",
        "except", "finally", "raise", "assert", "break", "continue", "del",
        "global", "def",     "class", "import", "from"};
    if (is_name("if")) return parse_if();
    if (peek().kind == TK::Name) {
      for (std::string_view keyword : kCompound) {
        if (peek().text == keyword) {
          statement.kind = Statement::Kind::Unsupported;
          statement.construct = keyword;
          skip_statement();
          return statement;
        }
      }
      if (peek().text == "pass") {
        next();
        statement.kind = Statement::Kind::Pass;
        end_statement();
        return statement;
      }
      if (peek().text == "return") {
        next();
        statement.kind = Statement::Kind::Return;
        statement.value = parse_tuple_or_expression();
        end_statement();
        return statement;
      }
    }
    // `a = e`, `a, b, = e`, or a bare expression (kept as an assignment to nothing).
    size_t start = cursor_.position();
    std::vector<std::string> targets;
    while (peek().kind == TK::Name && (is_op(",", 1) || is_op("=", 1))) {
      targets.push_back(next().text);
      if (is_op("=")) break;
      next();  // ,
      if (is_op(",")) bad("unexpected ','");
    }
    if (!targets.empty() && is_op("=")) {
      next();
      statement.targets = std::move(targets);
      statement.unpack =
          cursor_.at(cursor_.position() - 2).kind == TK::Op || statement.targets.size() > 1;
    } else {
      cursor_.rewind(start);
    }
    if (is_op(":")) {
      statement.kind = Statement::Kind::Unsupported;
      statement.construct = "annotated assignment";
      skip_statement();
      return statement;
    }
    statement.value = parse_tuple_or_expression();
    if (is_op("=") || is_op(":")) {
      statement.kind = Statement::Kind::Unsupported;
      statement.construct = "assignment to an attribute or item";
      skip_statement();
      return statement;
    }
    end_statement();
    return statement;
  }

  void end_statement() {
    if (peek().kind == TK::End) return;
    if (peek().kind != TK::Newline) bad("unexpected '", peek().text, "' at the end of a statement");
    next();
  }

  TokenCursor cursor_;
  const std::string& file_;
  int nesting_ = 0;
};

}  // namespace

void parse_script(const std::string& source, const std::string& file,
                  const std::string& module_name, std::map<std::string, ClassDef>& classes) {
  Parser(lex_script(source, file), file).parse_file(module_name, classes);
}

}  // namespace kiln::torchscript
