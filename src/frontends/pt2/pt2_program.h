// Internal: the ExportedProgram in an open archive → IR (pt2_program.cpp).
#pragma once

#include "frontends/pt2/pt2_archive.h"
#include "frontends/pt2/pt2_importer.h"

namespace kiln::pt2 {
Pt2ImportResult import_program(const Pt2Archive& archive, const Pt2ImportOptions& options);
}  // namespace kiln::pt2
