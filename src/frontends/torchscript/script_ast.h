// The parsed subset of TorchScript source: classes with their methods, module-level
// functions, and bodies of assignments, returns and if/else (taken only when the condition
// is static). Other constructs are kept as Unsupported statements so that the error names
// them with their line only when reached.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln::torchscript {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Name,
    Int,
    Float,
    String,
    Attribute,
    Call,
    List,
    Tuple,
    Subscript,
    Negate,
    Binary
  };
  Kind kind = Kind::Name;
  std::string text;  // Name and Attribute: the name; String: its value; Binary: the operator
  int64_t integer = 0;
  double number = 0;
  ExprPtr base;                       // Attribute, Call (the callee), Subscript, Negate, Binary lhs
  std::vector<ExprPtr> items;         // Call arguments, List/Tuple elements, Subscript index, rhs
  std::vector<std::string> keywords;  // Call: a keyword per argument, "" when positional
  int line = 0;
};

struct Statement {
  enum class Kind { Assign, Return, Pass, If, Unsupported };
  Kind kind = Kind::Assign;
  std::vector<std::string> targets;  // Assign: one name, or several for `a, b, = value`
  bool unpack = false;
  ExprPtr value;                  // If: the condition
  std::vector<Statement> body;    // If: the branch taken when the condition holds
  std::vector<Statement> orelse;  // If: else (an elif is an If inside it)
  std::string construct;          // Unsupported: the keyword ("if", "for", "while", ...)
  int line = 0;
};

struct Method {
  std::string name;
  std::vector<std::string> parameters;  // without self
  std::vector<ExprPtr> defaults;        // per parameter; null when it has none
  std::vector<Statement> body;
  int line = 0;
};

struct ClassDef {
  std::string name;  // "__torch__.torch.nn.modules.linear.Linear"
  std::string file;  // "code/__torch__/torch/nn/modules/linear.py", for messages
  std::map<std::string, Method> methods;
};

// Module-level functions (compiled helpers such as __torch__.torch.nn.functional.dropout)
// are kept as a ClassDef named after their module whose methods take no self.

// Parses one code/ file whose classes live in the Python module `module_name`
// ("__torch__.torch.nn.modules.linear"); appends its classes to `classes`.
void parse_script(const std::string& source, const std::string& file,
                  const std::string& module_name, std::map<std::string, ClassDef>& classes);

}  // namespace kiln::torchscript
