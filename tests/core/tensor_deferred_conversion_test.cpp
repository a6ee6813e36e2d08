// Tensor::converted_on_first_read (how an engine's narrow-stored weights reach the graph):
// the values of the eager to(), converted once however many copies and threads read it,
// shared by copies, and identified by shares_bytes_with without converting.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include "core/tensor.h"

namespace kiln {
namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.dims() == b.dims() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// BF16 weights with the awkward cases: signed zero, subnormal, infinities, NaN.
Tensor bf16_weights() {
  std::vector<float> values = {1.5f,     -0.0f,      3.0e-39f,
                               -2.75f,   1.0e30f,    std::numeric_limits<float>::infinity(),
                               -65504.f, 0.0078125f, std::numeric_limits<float>::quiet_NaN(),
                               7.0f,     -1.0f,      0.1f};
  return Tensor::from_vector<float>({3, 4}, values).to(DType::BFloat16);
}

TEST(DeferredConversion, HoldsTheEagerValuesButConvertsOnlyWhenRead) {
  Tensor narrow = bf16_weights();
  Tensor lazy = Tensor::converted_on_first_read(narrow, DType::Float32);
  // Everything but the bytes is known without converting.
  EXPECT_EQ(lazy.dtype(), DType::Float32);
  EXPECT_EQ(lazy.dims(), (Dims{3, 4}));
  EXPECT_EQ(lazy.numel(), 12);
  EXPECT_EQ(lazy.nbytes(), 48u);
  EXPECT_FALSE(lazy.materialized());
  EXPECT_TRUE(same_bits(lazy, narrow.to(DType::Float32)));
  EXPECT_TRUE(lazy.materialized());
  // Any conversion works, narrowing too: the values are always those of to().
  Tensor wide = narrow.to(DType::Float32);
  Tensor narrowed = Tensor::converted_on_first_read(wide, DType::Float16);
  EXPECT_TRUE(same_bits(narrowed, wide.to(DType::Float16)));
}

// A pass reading a prepared weight's values (a scalar factor) does not widen the shared copy.
TEST(DeferredConversion, ReadingValuesAsDoublesConvertsNothingShared) {
  Tensor narrow = bf16_weights();
  Tensor lazy = Tensor::converted_on_first_read(narrow, DType::Float32);
  std::vector<double> read = lazy.to_double_vector();
  std::vector<double> eager = narrow.to(DType::Float32).to_double_vector();
  ASSERT_EQ(read.size(), eager.size());
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_TRUE(read[i] == eager[i] || (std::isnan(read[i]) && std::isnan(eager[i]))) << i;
  }
  EXPECT_FALSE(lazy.materialized());
}

TEST(DeferredConversion, ReadsThroughEveryAccessorMatchTheEagerConversion) {
  Tensor narrow = bf16_weights();
  Tensor eager = narrow.to(DType::Float32);
  Tensor lazy = Tensor::converted_on_first_read(narrow, DType::Float32);
  EXPECT_TRUE(same_bits(lazy.to(DType::Float64), eager.to(DType::Float64)));
  EXPECT_TRUE(same_bits(Tensor::converted_on_first_read(narrow, DType::Float32).clone(), eager));
  Tensor values = Tensor::converted_on_first_read(narrow, DType::Float32);
  EXPECT_EQ(std::memcmp(values.values<float>().data(), eager.raw(), eager.nbytes()), 0);
  EXPECT_FALSE(Tensor::converted_on_first_read(narrow, DType::Float32)
                   .to(DType::Float32)
                   .materialized());  // to() its own dtype is the tensor itself, still unread
}

TEST(DeferredConversion, ConvertsOnceForManyConcurrentReaders) {
  constexpr int kThreads = 16;
  Tensor narrow =
      Tensor::from_vector<float>({1 << 16}, std::vector<float>(1 << 16, 2.5f)).to(DType::BFloat16);
  Tensor lazy = Tensor::converted_on_first_read(narrow, DType::Float32);
  // Each thread reads its own copy, all released at once, so that first reads collide.
  std::vector<Tensor> copies(kThreads, lazy);
  std::vector<const void*> seen(kThreads, nullptr);
  std::atomic<int> waiting{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      waiting.fetch_sub(1);
      while (waiting.load() > 0) std::this_thread::yield();
      seen[size_t(t)] = copies[size_t(t)].raw();
    });
  }
  for (std::thread& thread : threads) thread.join();
  // One conversion: every reader got the same bytes, which every copy (and the original,
  // which no thread read) now shares.
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(seen[size_t(t)], seen[0]) << "thread " << t;
  EXPECT_TRUE(lazy.materialized());
  EXPECT_EQ(lazy.raw(), seen[0]);
  EXPECT_TRUE(same_bits(lazy, narrow.to(DType::Float32)));
}

TEST(DeferredConversion, CopiesAndReshapesShareOneConversion) {
  Tensor lazy = Tensor::converted_on_first_read(bf16_weights(), DType::Float32);
  Tensor copy = lazy;
  Tensor reshaped = lazy.reshaped({4, 3});
  EXPECT_TRUE(copy.shares_bytes_with(lazy));
  EXPECT_TRUE(reshaped.shares_bytes_with(lazy));
  EXPECT_FALSE(lazy.materialized());  // identity checks convert nothing
  const void* bytes = reshaped.raw();
  EXPECT_TRUE(lazy.materialized());
  EXPECT_TRUE(copy.materialized());
  EXPECT_EQ(copy.raw(), bytes);
  EXPECT_EQ(lazy.raw(), bytes);
  EXPECT_EQ(reshaped.dims(), (Dims{4, 3}));
}

TEST(DeferredConversion, WritingOneCopyLeavesTheOthersAlone) {
  Tensor narrow = bf16_weights();
  Tensor lazy = Tensor::converted_on_first_read(narrow, DType::Float32);
  Tensor written = lazy;
  written.data_mutable<float>()[0] = 42.0f;
  EXPECT_FALSE(written.shares_bytes_with(lazy));
  EXPECT_EQ(written.values<float>()[0], 42.0f);
  EXPECT_EQ(written.values<float>()[3], -2.75f);
  EXPECT_TRUE(same_bits(lazy, narrow.to(DType::Float32)));
}

TEST(DeferredConversion, SharesBytesWithIsIdentityNotEquality) {
  Tensor narrow = bf16_weights();
  Tensor lazy = Tensor::converted_on_first_read(narrow, DType::Float32);
  Tensor other = Tensor::converted_on_first_read(narrow, DType::Float32);
  EXPECT_FALSE(lazy.shares_bytes_with(other));  // equal values, separate conversions
  EXPECT_FALSE(lazy.shares_bytes_with(narrow));
  EXPECT_FALSE(lazy.shares_bytes_with(lazy.clone()));
  EXPECT_FALSE(other.materialized());  // converting `lazy` (for clone) did not convert it
  Tensor plain = Tensor::from_vector<float>({2}, {1, 2});
  Tensor plain_copy = plain;
  EXPECT_TRUE(plain.shares_bytes_with(plain_copy));
  EXPECT_FALSE(plain.shares_bytes_with(plain.clone()));
  EXPECT_FALSE(Tensor().shares_bytes_with(Tensor()));
  // Converting to the source's own dtype is the source itself.
  EXPECT_TRUE(Tensor::converted_on_first_read(plain, DType::Float32).shares_bytes_with(plain));
}

TEST(DeferredConversion, KeepsMappedSourceBytesAlive) {
  auto buffer = std::make_shared<std::vector<uint16_t>>(std::vector<uint16_t>{0x3fc0, 0xc000});
  std::weak_ptr<std::vector<uint16_t>> watch = buffer;
  Tensor lazy = Tensor::converted_on_first_read(
      Tensor::from_mapped(DType::BFloat16, {2}, buffer, buffer->data(), 4), DType::Float32);
  buffer.reset();
  EXPECT_FALSE(watch.expired());  // the mapping outlives everything but the tensor
  EXPECT_EQ(lazy.values<float>()[0], 1.5f);
  EXPECT_EQ(lazy.values<float>()[1], -2.0f);
  lazy = Tensor();
  EXPECT_TRUE(watch.expired());
}

TEST(DeferredConversion, RefusesAnUndefinedSourceOrDtype) {
  EXPECT_THROW(Tensor::converted_on_first_read(Tensor(), DType::Float32), Error);
  EXPECT_THROW(Tensor::converted_on_first_read(bf16_weights(), DType::Undefined), Error);
}

}  // namespace
}  // namespace kiln
