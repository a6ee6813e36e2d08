// Parsing of einsum equations into per-dim labels (see einsum.h): letters, "...", implicit
// outputs, and the checks that name the equation when it is malformed.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "core/error.h"
#include "ir/einsum.h"

namespace kiln::ir {
namespace {

constexpr int kLetters = 26;

// A term before its "..." is expanded: the letters on each side of it.
struct RawTerm {
  std::vector<int> before, after;
  bool has_ellipsis = false;
};

class EquationParser {
 public:
  explicit EquationParser(const std::string& equation) : equation_(equation) {}

  template <typename... Parts>
  [[noreturn]] void invalid(const Parts&... parts) const {
    fail(ErrorKind::InvalidModel, "einsum equation '", equation_, "': ", parts...);
  }

  RawTerm term(const std::string& text) const {
    RawTerm term;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (std::isalpha(static_cast<unsigned char>(c))) {
        int label = std::isupper(static_cast<unsigned char>(c)) ? c - 'A' : kLetters + (c - 'a');
        (term.has_ellipsis ? term.after : term.before).push_back(label);
      } else if (c == '.') {
        if (text.compare(i, 3, "...") != 0) invalid("'.' outside an ellipsis \"...\"");
        if (term.has_ellipsis) invalid("more than one \"...\" in the term '", text, "'");
        term.has_ellipsis = true;
        i += 2;
      } else {
        invalid("unexpected character '", c, "' (subscripts are letters, ',', '...', '->')");
      }
    }
    return term;
  }

 private:
  const std::string& equation_;
};

std::vector<std::string> split_terms(const std::string& text) {
  std::vector<std::string> terms(1);
  for (char c : text) {
    if (c == ',')
      terms.emplace_back();
    else
      terms.back() += c;
  }
  return terms;
}

// The labels of a term whose "..." stands for `ellipsis_dims` dims.
std::vector<int> expand(const RawTerm& term, int64_t ellipsis_dims) {
  std::vector<int> labels = term.before;
  for (int64_t k = ellipsis_dims - 1; k >= 0; --k) {
    labels.push_back(EinsumEquation::kEllipsisLabel + static_cast<int>(k));
  }
  labels.insert(labels.end(), term.after.begin(), term.after.end());
  return labels;
}

std::string letter_of(int label) {
  return std::string(1, label < kLetters ? char('A' + label) : char('a' + label - kLetters));
}

// Letters appearing exactly once over all inputs, sorted, after the broadcast dims.
std::vector<int> implicit_output(const EinsumEquation& parsed, int64_t ellipsis_dims) {
  std::map<int, int> counts;
  for (const auto& labels : parsed.inputs) {
    for (int label : labels) ++counts[label];
  }
  std::vector<int> output = expand(RawTerm{{}, {}, true}, ellipsis_dims);
  for (const auto& [label, count] : counts) {
    if (label < EinsumEquation::kEllipsisLabel && count == 1) output.push_back(label);
  }
  return output;
}

}  // namespace

EinsumEquation parse_einsum(const std::string& equation, const std::vector<int64_t>& ranks) {
  EquationParser parser(equation);
  std::string compact;
  for (char c : equation) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  }
  size_t arrow = compact.find("->");
  std::optional<std::string> rhs;
  if (arrow != std::string::npos) rhs = compact.substr(arrow + 2);
  std::vector<std::string> terms = split_terms(compact.substr(0, arrow));
  if (terms.size() != ranks.size()) {
    parser.invalid("has ", terms.size(), " input terms for ", ranks.size(), " operands");
  }
  EinsumEquation parsed;
  int64_t ellipsis_dims = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    RawTerm term = parser.term(terms[i]);
    int64_t letters = static_cast<int64_t>(term.before.size() + term.after.size());
    int64_t extra = 0;
    if (term.has_ellipsis) {
      check(ranks[i] >= 0, ErrorKind::Unsupported, "einsum equation '", equation, "': operand ", i,
            " needs a known rank for its \"...\"");
      if (ranks[i] < letters) parser.invalid("operand ", i, " has rank ", ranks[i], " < ", letters);
      extra = ranks[i] - letters;
    } else if (ranks[i] >= 0 && ranks[i] != letters) {
      parser.invalid("term '", terms[i], "' has ", letters, " subscripts but operand ", i,
                     " has rank ", ranks[i]);
    }
    ellipsis_dims = std::max(ellipsis_dims, extra);
    parsed.inputs.push_back(expand(term, extra));
  }
  if (!rhs) {
    parsed.output = implicit_output(parsed, ellipsis_dims);
    return parsed;
  }
  RawTerm output = parser.term(*rhs);
  parsed.output = expand(output, output.has_ellipsis ? ellipsis_dims : 0);
  std::vector<int> seen;
  for (int label : parsed.output) {
    if (std::find(seen.begin(), seen.end(), label) != seen.end()) {
      parser.invalid("output subscript '", letter_of(label), "' appears twice");
    }
    seen.push_back(label);
    bool found = std::any_of(parsed.inputs.begin(), parsed.inputs.end(), [&](const auto& labels) {
      return std::find(labels.begin(), labels.end(), label) != labels.end();
    });
    if (!found) parser.invalid("output subscript '", letter_of(label), "' is in no input");
  }
  return parsed;
}

}  // namespace kiln::ir
