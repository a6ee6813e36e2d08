// A pickle reader that executes nothing: only the opcodes TorchScript archives use and only
// an allowlist of globals (tensor rebuild, storage types, OrderedDict, __torch__ classes as
// attribute holders). Any other opcode or global is an InvalidModel error naming it.
#pragma once

#include <string>
#include <string_view>

#include "frontends/torchscript/pickle_value.h"

namespace kiln::torchscript {

// Decodes one pickle; `label` names it in messages ("m.pt: data.pkl").
PickleRef read_pickle(std::string_view bytes, const std::string& label);

}  // namespace kiln::torchscript
