// The expression parser of the TorchScript source reader (see script_parser.cpp).
#pragma once

#include "frontends/torchscript/script_ast.h"
#include "frontends/torchscript/script_tokens.h"

namespace kiln::torchscript {

// One expression (no top-level commas).
ExprPtr parse_expression(TokenCursor& cursor);
// `a, b` as a tuple, else one expression (return values, assigned values).
ExprPtr parse_tuple_or_expression(TokenCursor& cursor);

}  // namespace kiln::torchscript
