// The pieces every generated kernel's source is made of: the prelude (conversions, NaN-aware
// max/min, pow), storage and register types, each pointwise op's formula, literals, and how an
// operand is indexed. Shared by the elementwise and the row-reduction generators.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::cuda::source {

// Declarations every generated kernel starts with: FusedArgs as KilnFusedArgs, packs, the
// bf16/fp16 conversions (PTX, no headers), kiln_max/min/pow and warp reductions. kPrelude is
// the three parts in order; a host build of a generated kernel replaces the conversions.
extern const char* const kPreludeTypes;
extern const char* const kPreludeConversions;
extern const char* const kPreludeMath;
extern const std::string kPrelude;

const char* storage_type(DType dtype);   // "unsigned short" for bf16, ...
const char* register_type(DType dtype);  // "float" for every float dtype, "bool", ...
std::string to_register(DType dtype, const std::string& stored);
std::string to_storage(DType dtype, const std::string& value);
std::string float_literal(float value);              // exact: the bits
std::string scalar_literal(const ir::Value& value);  // an inlined scalar constant

// The expression for pointwise `node`'s output from its operands' expressions ("" for an
// absent input). Throws Unsupported naming the node for an op without a formula.
std::string emit_pointwise(const ir::Node& node, const std::vector<std::string>& args);

// How a kernel reads an operand of `dims` within `domain`, per thread of V elements:
//   Pack    the domain's size: V consecutive elements, one vector load
//   Inner   the domain's last dims (a bias): V consecutive elements at i % size, one vector load
//   Scalar  one element
//   Block   any other block broadcast: element by element at (i / div) % mod
//   Strided a broadcast over several blocks: element by element, index_code::broadcast
//   Gather  not read at the domain's elements: only index members read it (index groups)
enum class Access { Pack, Inner, Scalar, Block, Strided, Gather };
Access access_of(const Dims& dims, const Dims& domain);

// Element i of `domain` reads an operand of `input` dims at (i / div) % mod.
struct BlockIndex {
  int64_t div = 1;
  int64_t mod = 1;
};
BlockIndex block_index(const Dims& input, const Dims& domain);

// 64-bit FNV-1a of `text`, as hex.
std::string fnv1a_hex(const std::string& text);

// `text` with every "KILN_ENTRY" replaced by `name`.
std::string name_entries(std::string text, const std::string& name);

}  // namespace kiln::cuda::source
