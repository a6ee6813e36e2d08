// Expressions of serialized TorchScript: calls with positional and keyword arguments,
// attributes, subscripts, literals, lists, tuples, unary minus and + - * / // %.
#include "frontends/torchscript/script_expression.h"

namespace kiln::torchscript {
namespace {

using TK = Token::Kind;

class ExpressionParser {
 public:
  explicit ExpressionParser(TokenCursor& cursor) : cursor_(cursor) {}

  ExprPtr make(Expr::Kind kind, int line) {
    auto expr = std::make_unique<Expr>();
    expr->kind = kind;
    expr->line = line;
    return expr;
  }

  ExprPtr parse_tuple_or_expression() {
    int line = peek().line;
    ExprPtr first = parse_expression();
    if (!is_op(",")) return first;
    ExprPtr tuple = make(Expr::Kind::Tuple, line);
    tuple->items.push_back(std::move(first));
    while (is_op(",")) {
      next();
      if (peek().kind == TK::Newline || is_op("=")) break;
      tuple->items.push_back(parse_expression());
    }
    return tuple;
  }

  ExprPtr parse_expression() { return parse_binary(0); }

  static int precedence(const Token& token) {
    if (token.kind != TK::Op) return -1;
    if (token.text == "+" || token.text == "-") return 1;
    if (token.text == "*" || token.text == "/" || token.text == "//" || token.text == "%") return 2;
    return -1;
  }

  ExprPtr parse_binary(int min_precedence) {
    ExprPtr lhs = parse_unary();
    while (precedence(peek()) >= std::max(min_precedence, 1)) {
      Token op = next();
      ExprPtr rhs = parse_binary(precedence(op) + 1);
      ExprPtr binary = make(Expr::Kind::Binary, op.line);
      binary->text = op.text;
      binary->base = std::move(lhs);
      binary->items.push_back(std::move(rhs));
      lhs = std::move(binary);
    }
    return lhs;
  }

  ExprPtr parse_unary() {
    if (is_op("-")) {
      int line = next().line;
      ExprPtr operand = parse_unary();
      if (operand->kind == Expr::Kind::Int) {
        operand->integer = -operand->integer;
        return operand;
      }
      if (operand->kind == Expr::Kind::Float) {
        operand->number = -operand->number;
        return operand;
      }
      ExprPtr negate = make(Expr::Kind::Negate, line);
      negate->base = std::move(operand);
      return negate;
    }
    if (++nesting_ > 200) bad("expression nests too deeply");
    ExprPtr expr = parse_postfix();
    --nesting_;
    return expr;
  }

  ExprPtr parse_postfix() {
    ExprPtr expr = parse_primary();
    while (true) {
      int line = peek().line;
      if (is_op(".")) {
        next();
        ExprPtr attribute = make(Expr::Kind::Attribute, line);
        attribute->text = expect_name();
        attribute->base = std::move(expr);
        expr = std::move(attribute);
      } else if (is_op("(")) {
        next();
        ExprPtr call = make(Expr::Kind::Call, line);
        call->base = std::move(expr);
        while (!is_op(")")) {
          std::string keyword;
          if (peek().kind == TK::Name && is_op("=", 1)) {
            keyword = next().text;
            next();
          }
          call->keywords.push_back(keyword);
          call->items.push_back(parse_expression());
          if (is_op(","))
            next();
          else if (!is_op(")"))
            bad("expected ',' or ')' in a call");
        }
        next();
        expr = std::move(call);
      } else if (is_op("[")) {
        next();
        ExprPtr subscript = make(Expr::Kind::Subscript, line);
        subscript->base = std::move(expr);
        subscript->items.push_back(parse_tuple_or_expression());
        expect_op("]");
        expr = std::move(subscript);
      } else {
        return expr;
      }
    }
  }

  ExprPtr parse_primary() {
    Token token = next();
    switch (token.kind) {
      case TK::Name: {
        ExprPtr e = make(Expr::Kind::Name, token.line);
        e->text = token.text;
        return e;
      }
      case TK::String: {
        ExprPtr e = make(Expr::Kind::String, token.line);
        e->text = token.text;
        return e;
      }
      case TK::Int: {
        ExprPtr e = make(Expr::Kind::Int, token.line);
        try {
          e->integer = std::stoll(token.text);
        } catch (...) {
          bad("integer '", token.text, "' is out of range");
        }
        return e;
      }
      case TK::Float: {
        ExprPtr e = make(Expr::Kind::Float, token.line);
        try {
          e->number = std::stod(token.text);
        } catch (...) {
          bad("bad number '", token.text, "'");
        }
        return e;
      }
      case TK::Op:
        if (token.text == "(" || token.text == "[") return parse_sequence(token);
        break;
      default:
        break;
    }
    cursor_.rewind(cursor_.position() - 1);
    bad("unexpected '", peek().text, "' in an expression");
  }

  ExprPtr parse_sequence(const Token& open) {
    bool is_list = open.text == "[";
    std::string close = is_list ? "]" : ")";
    ExprPtr sequence = make(is_list ? Expr::Kind::List : Expr::Kind::Tuple, open.line);
    bool trailing_comma = false;
    while (!is_op(close)) {
      sequence->items.push_back(parse_expression());
      trailing_comma = is_op(",");
      if (trailing_comma)
        next();
      else if (!is_op(close))
        bad("expected ',' or '", close, "'");
    }
    next();
    // `(x)` is x itself; `(x,)` is a tuple.
    if (!is_list && sequence->items.size() == 1 && !trailing_comma)
      return std::move(sequence->items[0]);
    return sequence;
  }

 private:
  template <typename... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    cursor_.bad(parts...);
  }
  const Token& peek(size_t ahead = 0) const { return cursor_.peek(ahead); }
  Token next() { return cursor_.next(); }
  bool is_op(std::string_view op, size_t ahead = 0) const { return cursor_.is_op(op, ahead); }
  std::string expect_name() { return cursor_.expect_name(); }
  void expect_op(std::string_view op) { cursor_.expect_op(op); }

  TokenCursor& cursor_;
  int nesting_ = 0;
};

}  // namespace

ExprPtr parse_expression(TokenCursor& cursor) {
  return ExpressionParser(cursor).parse_expression();
}

ExprPtr parse_tuple_or_expression(TokenCursor& cursor) {
  return ExpressionParser(cursor).parse_tuple_or_expression();
}

}  // namespace kiln::torchscript
