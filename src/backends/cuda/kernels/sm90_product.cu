// The CUTLASS products of sm90_product.h. Built for sm_90a alone (wgmma and TMA need it;
// src/backends/cuda/CMakeLists.txt), so each instantiation is compiled once.
//
// Mainloop: TMA loads of A (K-major) and B (N-major, the weights as the model stores them) into
// a shared-memory pipeline, wgmma on two consumer warp groups that take turns ("ping-pong"),
// so one group's epilogue overlaps the other's products. Epilogue: no shared memory, each
// thread writes its accumulators one element at a time with bounds checks, which is what lets
// D's rows start anywhere; the writes of neighbouring threads still fall into the same 32-byte
// sectors, and the ping-pong hides them behind the next tile's products.
#include <cutlass/cutlass.h>
#include <cutlass/gemm/device/gemm_universal_adapter.h>

#include <cute/tensor.hpp>
#include <cutlass/epilogue/collective/collective_builder.hpp>
#include <cutlass/gemm/collective/collective_builder.hpp>
#include <cutlass/gemm/kernel/gemm_universal.hpp>

#include "backends/cuda/kernels/launch_error.h"
#include "backends/cuda/kernels/sm90_product.h"

namespace kiln::cuda {
namespace {

using namespace cute;

// One product kernel: AB is the operands' CUTLASS type, D the output's. kAlignedD: D's rows
// are 16-byte aligned, so the epilogue stages tiles in shared memory and stores them by TMA;
// otherwise it stores element by element from the registers.
template <class AB, class D, bool kAlignedD>
struct Sm90Kernel {
  using TileShape = Shape<_128, _128, _64>;
  using ClusterShape = Shape<_2, _1, _1>;
  static constexpr int kAlignmentAB = 16 / sizeof(AB);
  static constexpr int kAlignmentD = kAlignedD ? 16 / sizeof(D) : 1;
  using EpilogueSchedule = std::conditional_t<kAlignedD, cutlass::epilogue::TmaWarpSpecialized,
                                              cutlass::epilogue::NoSmemWarpSpecialized>;
  using Epilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float, void,
      cutlass::layout::RowMajor, kAlignmentD, D, cutlass::layout::RowMajor, kAlignmentD,
      EpilogueSchedule>::CollectiveOp;
  using Mainloop = typename cutlass::gemm::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, AB, cutlass::layout::RowMajor,
      kAlignmentAB, AB, cutlass::layout::RowMajor, kAlignmentAB, float, TileShape, ClusterShape,
      cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(
          sizeof(typename Epilogue::SharedStorage))>,
      cutlass::gemm::KernelTmaWarpSpecializedPingpong>::CollectiveOp;
  using Kernel =
      cutlass::gemm::kernel::GemmUniversal<Shape<int, int, int, int>, Mainloop, Epilogue>;
  using Gemm = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;
};

template <class AB, class D, bool kAlignedD>
typename Sm90Kernel<AB, D, kAlignedD>::Gemm::Arguments arguments(const RowMajorProduct& p) {
  using Kernel = typename Sm90Kernel<AB, D, kAlignedD>::Kernel;
  typename Kernel::StrideA stride_a{p.lda, Int<1>{}, p.m * p.lda};
  typename Kernel::StrideB stride_b{Int<1>{}, p.ldb, p.k * p.ldb};
  typename Kernel::StrideD stride_d{p.ldd, Int<1>{}, p.m * p.ldd};
  cutlass::KernelHardwareInfo hardware;
  cudaGetDevice(&hardware.device_id);
  cudaDeviceGetAttribute(&hardware.sm_count, cudaDevAttrMultiProcessorCount, hardware.device_id);
  typename Sm90Kernel<AB, D, kAlignedD>::Gemm::Arguments args{
      cutlass::gemm::GemmUniversalMode::kGemm,
      {int(p.m), int(p.n), int(p.k), 1},
      {static_cast<const AB*>(p.a), stride_a, static_cast<const AB*>(p.b), stride_b},
      {{p.alpha, 0.f}, nullptr, stride_d, static_cast<D*>(p.d), stride_d},
      hardware};
  return args;
}

template <class AB, class D, bool kAlignedD>
size_t workspace_for(const RowMajorProduct& p) {
  return Sm90Kernel<AB, D, kAlignedD>::Gemm::get_workspace_size(arguments<AB, D, kAlignedD>(p));
}

template <class AB, class D, bool kAlignedD>
void run_for(const RowMajorProduct& p, void* workspace, size_t workspace_size,
             cudaStream_t stream) {
  using Gemm = typename Sm90Kernel<AB, D, kAlignedD>::Gemm;
  auto args = arguments<AB, D, kAlignedD>(p);
  launch_check(Gemm::get_workspace_size(args) <= workspace_size, ErrorKind::Runtime,
               "the sm90 product needs ", Gemm::get_workspace_size(args),
               " bytes of workspace; got ", workspace_size);
  // Not gemm.can_implement: it also asks the contiguous extents (B's N, A's K) to be multiples
  // of 16 bytes, which TMA does not need (its boxes fill past the extent with zeros; only the
  // strides and base addresses must be 16-byte aligned, as sm90_product_unsupported checks),
  // and an odd N is this kernel's purpose.
  Gemm gemm;
  cutlass::Status status = gemm.initialize(args, workspace, stream);
  if (status == cutlass::Status::kSuccess) status = gemm.run(stream);
  launch_check(status == cutlass::Status::kSuccess, ErrorKind::Cuda,
               "the sm90 product failed to launch: ", cutlassGetStatusString(status), " (",
               cudaGetErrorString(cudaGetLastError()), ")");
}

bool aligned16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

// The instantiations: bfloat16 or float16 operands, float32 or same-type outputs, each with
// aligned or unaligned output rows.
template <class AB, class D, class Visit>
void dispatch_alignment(const RowMajorProduct& p, Visit&& visit) {
  if (sm90_product_output_aligned(p)) return visit.template operator()<AB, D, true>();
  return visit.template operator()<AB, D, false>();
}

template <class Visit>
void dispatch(const RowMajorProduct& p, Visit&& visit) {
  if (p.ab_dtype == DType::BFloat16) {
    if (p.d_dtype == DType::Float32)
      return dispatch_alignment<cutlass::bfloat16_t, float>(p, visit);
    return dispatch_alignment<cutlass::bfloat16_t, cutlass::bfloat16_t>(p, visit);
  }
  if (p.d_dtype == DType::Float32) return dispatch_alignment<cutlass::half_t, float>(p, visit);
  return dispatch_alignment<cutlass::half_t, cutlass::half_t>(p, visit);
}

}  // namespace

bool sm90_product_output_aligned(const RowMajorProduct& p) {
  return (p.ldd * int64_t(dtype_size(p.d_dtype))) % 16 == 0 && aligned16(p.d);
}

std::string sm90_product_unsupported(const RowMajorProduct& p, int compute_capability) {
  if (compute_capability != 90) return "needs an sm_90 device (Hopper)";
  if (p.ab_dtype != DType::BFloat16 && p.ab_dtype != DType::Float16) {
    return "operands are " + std::string(dtype_name(p.ab_dtype)) + ", not bfloat16 or float16";
  }
  if (p.d_dtype != DType::Float32 && p.d_dtype != p.ab_dtype) {
    return "output is " + std::string(dtype_name(p.d_dtype)) +
           ", not float32 or the operands' type";
  }
  if (p.m <= 0 || p.n <= 0 || p.k <= 0) return "the product is empty";
  const int64_t limit = int64_t(1) << 31;
  if (p.m >= limit || p.n >= limit || p.k >= limit) return "a dim exceeds 2^31";
  const int64_t per_word = 16 / int64_t(dtype_size(p.ab_dtype));
  if (p.lda % per_word != 0 || p.ldb % per_word != 0)
    return "A's or B's rows are not 16-byte aligned";
  if (p.lda < p.k || p.ldb < p.n || p.ldd < p.n) return "a row pitch is shorter than its row";
  if (!aligned16(p.a) || !aligned16(p.b)) return "A or B does not start 16-byte aligned";
  return {};
}

size_t sm90_product_workspace(const RowMajorProduct& p) {
  size_t bytes = 0;
  dispatch(
      p, [&]<class AB, class D, bool kAlignedD>() { bytes = workspace_for<AB, D, kAlignedD>(p); });
  return bytes;
}

void run_sm90_product(const RowMajorProduct& p, void* workspace, size_t workspace_size,
                      cudaStream_t stream) {
  std::string why = sm90_product_unsupported(p, 90);
  launch_check(why.empty(), ErrorKind::Unsupported, "the sm90 product cannot run: ", why);
  dispatch(p, [&]<class AB, class D, bool kAlignedD>() {
    run_for<AB, D, kAlignedD>(p, workspace, workspace_size, stream);
  });
}

}  // namespace kiln::cuda
