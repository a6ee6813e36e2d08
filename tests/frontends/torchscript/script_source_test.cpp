// The TorchScript source reader: classes, methods and functions of a code/ file, the
// statement subset, if/elif/else as nested statements, loops as Unsupported with their line.
#include <gtest/gtest.h>

#include "core/error.h"
#include "frontends/torchscript/script_ast.h"
#include "frontends/torchscript/script_lexer.h"

namespace kiln::torchscript {
namespace {

constexpr const char* kSource = R"(class Block(Module):
  __parameters__ = ["weight", ]
  __annotations__["0"] = __torch__.torch.nn.modules.linear.Linear
  weight : Tensor
  def forward(self: __torch__.m.Block,
    x: Tensor,
    mask: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    # a comment
    q, k, = torch.split(x, 4, -1)
    _0 = annotate(List[int], [])
    y = torch.gelu(q, approximate="tanh")
    if torch.gt(y, 0.5):
      y = k
    else:
      pass
    return (y, (self.weight).forward(k, ))
  def helper(self: __torch__.m.Block) -> int:
    return -3 + 2 * 4
)";

TEST(ScriptSource, ParsesClassesMethodsAndStatements) {
  std::map<std::string, ClassDef> classes;
  parse_script(kSource, "code/__torch__/m.py", "__torch__.m", classes);
  ASSERT_EQ(classes.count("__torch__.m.Block"), 1u);
  const ClassDef& block = classes.at("__torch__.m.Block");
  ASSERT_EQ(block.methods.size(), 2u);
  const Method& forward = block.methods.at("forward");
  EXPECT_EQ(forward.parameters, (std::vector<std::string>{"x", "mask"}));
  ASSERT_EQ(forward.body.size(), 5u);

  const Statement& split = forward.body[0];
  EXPECT_EQ(split.line, 9);
  EXPECT_TRUE(split.unpack);
  EXPECT_EQ(split.targets, (std::vector<std::string>{"q", "k"}));
  ASSERT_EQ(split.value->kind, Expr::Kind::Call);
  EXPECT_EQ(split.value->base->text, "split");
  EXPECT_EQ(split.value->items[2]->integer, -1);

  EXPECT_FALSE(forward.body[1].unpack);
  const Expr& gelu = *forward.body[2].value;
  EXPECT_EQ(gelu.keywords, (std::vector<std::string>{"", "approximate"}));
  EXPECT_EQ(gelu.items[1]->text, "tanh");

  // The if/else is one statement with both blocks, kept with its line for errors.
  const Statement& branch = forward.body[3];
  EXPECT_EQ(branch.kind, Statement::Kind::If);
  EXPECT_EQ(branch.line, 12);
  ASSERT_EQ(branch.body.size(), 1u);
  EXPECT_EQ(branch.body[0].targets, (std::vector<std::string>{"y"}));
  ASSERT_EQ(branch.orelse.size(), 1u);
  EXPECT_EQ(branch.orelse[0].kind, Statement::Kind::Pass);

  const Method& helper = block.methods.at("helper");
  ASSERT_EQ(helper.body.size(), 1u);
  const Expr& sum = *helper.body[0].value;  // -3 + (2 * 4)
  ASSERT_EQ(sum.kind, Expr::Kind::Binary);
  EXPECT_EQ(sum.text, "+");
  EXPECT_EQ(sum.base->integer, -3);
  EXPECT_EQ(sum.items[0]->text, "*");
}

TEST(ScriptSource, ReturnOfATupleKeepsItsElements) {
  std::map<std::string, ClassDef> classes;
  parse_script(kSource, "code/__torch__/m.py", "__torch__.m", classes);
  const Statement& last = classes.at("__torch__.m.Block").methods.at("forward").body.back();
  EXPECT_EQ(last.kind, Statement::Kind::Return);
  EXPECT_EQ(last.line, 16);
  ASSERT_EQ(last.value->kind, Expr::Kind::Tuple);
  ASSERT_EQ(last.value->items.size(), 2u);
  const Expr& call = *last.value->items[1];  // (self.weight).forward(k, )
  ASSERT_EQ(call.kind, Expr::Kind::Call);
  EXPECT_EQ(call.base->text, "forward");
  EXPECT_EQ(call.base->base->text, "weight");
  EXPECT_EQ(call.items.size(), 1u);
}

TEST(ScriptSource, ParsesFunctionsWithDefaultsLoopsAndElif) {
  std::map<std::string, ClassDef> classes;
  parse_script(
      "def act(x: Tensor, inplace: bool=False, k: int=-2) -> Tensor:\n"
      "  if inplace:\n    _0 = torch.relu_(x)\n"
      "  elif torch.gt(k, 0):\n    _0 = x\n  else:\n    _0 = torch.relu(x)\n"
      "  for i in range(3):\n    _0 = _0\n"
      "  return _0\n",
      "code/__torch__/f.py", "__torch__.f", classes);
  const Method& act = classes.at("__torch__.f").methods.at("act");
  EXPECT_EQ(act.parameters, (std::vector<std::string>{"x", "inplace", "k"}));
  ASSERT_EQ(act.defaults.size(), 3u);
  EXPECT_EQ(act.defaults[0], nullptr);
  EXPECT_EQ(act.defaults[2]->integer, -2);
  ASSERT_EQ(act.body.size(), 3u);
  ASSERT_EQ(act.body[0].orelse.size(), 1u);
  EXPECT_EQ(act.body[0].orelse[0].kind, Statement::Kind::If);  // the elif
  EXPECT_EQ(act.body[0].orelse[0].orelse.size(), 1u);
  EXPECT_EQ(act.body[1].kind, Statement::Kind::Unsupported);
  EXPECT_EQ(act.body[1].construct, "for");
  EXPECT_EQ(act.body[1].line, 8);
  EXPECT_EQ(act.body[2].kind, Statement::Kind::Return);
}

TEST(ScriptSource, ReportsBadSourceWithFileAndLine) {
  std::map<std::string, ClassDef> classes;
  try {
    parse_script("class A(Module):\n  def forward(self, x):\n    y = x $ 2\n", "code/a.py",
                 "__torch__", classes);
    FAIL() << "parsed";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("code/a.py line 3: unexpected character '$'"),
              std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace kiln::torchscript
