// The op harness's coverage, checked without a GPU (so it runs wherever the CUDA tests build):
// every op in the CUDA kernel table has cases, every case names an op in the table and sits
// in its family's file, and each case builds and its CPU reference runs.
#include <iostream>
#include <set>

#include "backends/cuda/ops/cuda_kernel.h"
#include "op_harness.h"

namespace kiln::cuda_test {
namespace {

// Op → the family whose kernel hook registers it.
std::map<std::string, const CaseFamily*> family_by_op() {
  std::map<std::string, const CaseFamily*> families;
  for (const CaseFamily& family : case_families()) {
    cuda::CudaKernelMap registered;
    family.registers(registered);
    for (const auto& [op, kernel] : registered) families[op] = &family;
  }
  return families;
}

TEST(OpCoverage, EveryKernelOpHasCases) {
  std::map<std::string, const CaseFamily*> families = family_by_op();
  std::set<std::string> tested;
  for (const CaseFamily& family : case_families()) {
    for (const OpCase& op_case : family.cases()) tested.insert(op_case.op);
  }
  std::string missing;
  for (const std::string& op : cuda::cuda_kernel_ops()) {
    if (tested.count(op)) continue;
    auto family = families.find(op);
    missing += "\n  " + op + ": add cases to tests/backends/cuda/" +
               (family == families.end() ? std::string("(a new family; see case_families())")
                                         : family->second->file);
  }
  EXPECT_EQ(missing, "") << "ops in the CUDA kernel table without an op harness case:";
}

// A hook added to the kernel table needs a family (case_families() in op_harness.cpp), or
// its ops could not be told where their cases go.
TEST(OpCoverage, FamiliesCoverTheWholeTable) {
  std::map<std::string, const CaseFamily*> families = family_by_op();
  std::string unclaimed;
  for (const std::string& op : cuda::cuda_kernel_ops()) {
    if (!families.count(op)) unclaimed += " " + op;
  }
  EXPECT_EQ(unclaimed, "") << "registered by no hook in case_families():";
  EXPECT_EQ(families.size(), cuda::cuda_kernel_ops().size()) << "a family registers an op the "
                                                                "table lacks";
}

TEST(OpCoverage, EveryCaseNamesAnOpOfItsFamily) {
  std::vector<std::string> table = cuda::cuda_kernel_ops();
  EXPECT_TRUE(std::is_sorted(table.begin(), table.end()));
  std::set<std::string> ops(table.begin(), table.end());
  std::map<std::string, const CaseFamily*> families = family_by_op();
  for (const CaseFamily& family : case_families()) {
    for (const OpCase& op_case : family.cases()) {
      std::string where = std::string(family.file) + ": " + op_case.op + " " + op_case.name;
      if (!ops.count(op_case.op)) {
        ADD_FAILURE() << where << ": no such op in the CUDA kernel table";
      } else if (families.at(op_case.op) != &family) {
        ADD_FAILURE() << where << ": belongs in " << families.at(op_case.op)->file;
      }
    }
  }
}

// Inputs this large make the CPU reference slow (the largest products); they are checked on
// the GPU machine only.
constexpr int64_t kLargestCheckedInputs = 600000;

// Each case in each precision builds (shapes infer, attributes are read) and its CPU
// reference runs, so that a malformed case fails here, not on the GPU machine. Prints how
// many runs each op has per precision.
TEST(OpCoverage, EveryCaseBuildsAndItsReferenceRuns) {
  std::map<std::string, std::map<Precision, int>> runs_by_op;
  int skipped = 0;
  for (const CaseFamily& family : case_families()) {
    for (const OpRun& run : op_runs(family.cases())) {
      ++runs_by_op[run.op_case.op][run.precision];
      std::string what = std::string(family.file) + ": " + run.op_case.op + " " + run.op_case.name +
                         " in " + std::string(precision_name(run.precision));
      try {
        BuiltCase built = build_case(run.op_case, run.precision);
        int64_t elements = 0;
        for (const Tensor& value : built.input_values) elements += value.numel();
        if (elements > kLargestCheckedInputs) {
          ++skipped;
          continue;
        }
        EXPECT_EQ(reference_outputs(run.op_case, built).size(), run.op_case.outputs) << what;
      } catch (const std::exception& error) {
        ADD_FAILURE() << what << ": " << error.what();
      }
    }
  }
  int total = 0;
  std::cout << "op harness runs per op (fp32 tf32 fp16 bf16):\n";
  for (const auto& [op, counts] : runs_by_op) {
    std::cout << "  " << op;
    for (Precision precision :
         {Precision::FP32, Precision::TF32, Precision::FP16, Precision::BF16}) {
      int count = counts.count(precision) ? counts.at(precision) : 0;
      std::cout << " " << count;
      total += count;
    }
    std::cout << "\n";
  }
  std::cout << total << " runs; CPU reference not run for " << skipped << " with large inputs\n";
}

}  // namespace
}  // namespace kiln::cuda_test
