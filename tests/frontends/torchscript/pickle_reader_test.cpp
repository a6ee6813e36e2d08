// The safe pickle reader: what TorchScript archives hold decodes; hostile pickles (globals
// outside the allowlist, REDUCE on unknown callables, unknown opcodes, truncation, cycles)
// are refused with an error naming the culprit, and nothing is run.
#include "frontends/torchscript/pickle_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "pickle_bytes.h"

namespace kiln::torchscript {
namespace {

using Kind = PickleValue::Kind;
using namespace std::string_literals;
using pickle_bytes::text;

std::string error_of(const std::string& bytes, ErrorKind expected = ErrorKind::InvalidModel) {
  try {
    read_pickle(bytes, "test.pkl");
  } catch (const Error& error) {
    EXPECT_EQ(error.kind(), expected) << error.what();
    return error.what();
  }
  return "";
}

// _rebuild_tensor_v2(('storage', torch.<storage>, '0', 'cpu', 6), 1, (2, 2), (1, 2), False,
// OrderedDict()), as a whole pickle.
std::string tensor_pickle(const std::string& storage) {
  return "\x80\x02" + pickle_bytes::tensor_rebuild(storage, "0", 6, 1, {2, 2}, {1, 2}) + ".";
}

TEST(PickleReader, DecodesTensorReferencesWithTheirStorageDtype) {
  const std::pair<const char*, DType> kTypes[] = {
      {"BFloat16Storage", DType::BFloat16}, {"HalfStorage", DType::Float16},
      {"FloatStorage", DType::Float32},     {"DoubleStorage", DType::Float64},
      {"LongStorage", DType::Int64},        {"IntStorage", DType::Int32},
      {"ShortStorage", DType::Int16},       {"CharStorage", DType::Int8},
      {"ByteStorage", DType::UInt8},        {"BoolStorage", DType::Bool}};
  for (const auto& [storage, dtype] : kTypes) {
    PickleRef value = read_pickle(tensor_pickle(storage), "t.pkl");
    ASSERT_EQ(value->kind, Kind::Tensor) << storage;
    EXPECT_EQ(value->tensor.storage.dtype, dtype) << storage;
    EXPECT_EQ(value->tensor.storage.key, "0");
    EXPECT_EQ(value->tensor.storage.numel, 6);
    EXPECT_EQ(value->tensor.storage_offset, 1);
    EXPECT_EQ(value->tensor.sizes, (Dims{2, 2}));
    EXPECT_EQ(value->tensor.strides, (Dims{1, 2}));
  }
}

// Complex storages hold (re, im) pairs of the real type; numel, offset and strides stay in
// complex elements. complex32 and the quantized types are refused by name.
TEST(PickleReader, DecodesComplexStoragesAsPairsOfReals) {
  const std::pair<const char*, DType> kTypes[] = {{"ComplexFloatStorage", DType::Float32},
                                                  {"ComplexDoubleStorage", DType::Float64}};
  for (const auto& [storage, dtype] : kTypes) {
    PickleRef value = read_pickle(tensor_pickle(storage), "t.pkl");
    ASSERT_EQ(value->kind, Kind::Tensor) << storage;
    EXPECT_EQ(value->tensor.storage.dtype, dtype) << storage;
    EXPECT_TRUE(value->tensor.storage.complex) << storage;
    EXPECT_EQ(value->tensor.storage.numel, 6);
    EXPECT_EQ(value->tensor.storage_offset, 1);
    EXPECT_EQ(value->tensor.strides, (Dims{1, 2}));
  }
  EXPECT_FALSE(read_pickle(tensor_pickle("FloatStorage"), "t.pkl")->tensor.storage.complex);
  std::string message = error_of(tensor_pickle("ComplexHalfStorage"), ErrorKind::Unsupported);
  EXPECT_NE(message.find("ComplexHalfStorage (complex32) is not supported"), std::string::npos)
      << message;
  message = error_of(tensor_pickle("QInt8Storage"), ErrorKind::Unsupported);
  EXPECT_NE(message.find("torch.QInt8Storage is not supported"), std::string::npos) << message;
}

TEST(PickleReader, DecodesModuleObjectsAsAttributeHolders) {
  // __torch__.M() with state {'training': False, 'n': 300, 'x': 2.5, 'l': [1, -2]}.
  std::string bytes =
      "\x80\x02"
      "c__torch__\nM\nq\x00)\x81q\x01}("s +
      text("training") + "\x89" + text("n") + "M\x2c\x01" + text("x") +
      "G\x40\x04\x00\x00\x00\x00\x00\x00"s + text("l") +
      "](K\x01J\xfe\xff\xff\xff"
      "eub.";
  PickleRef module = read_pickle(bytes, "m.pkl");
  ASSERT_EQ(module->kind, Kind::Object);
  EXPECT_EQ(module->text, "__torch__ M");
  EXPECT_FALSE(module->attribute("training")->boolean);
  EXPECT_EQ(module->attribute("n")->integer, 300);
  EXPECT_DOUBLE_EQ(module->attribute("x")->number, 2.5);
  const PickleValue* list = module->attribute("l");
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_EQ(list->items[1]->integer, -2);
}

TEST(PickleReader, RefusesGlobalOsSystemWithoutRunningIt) {
  std::string marker = "/tmp/kiln_pickle_ran_" + std::to_string(getpid());
  std::filesystem::remove(marker);
  std::string bytes =
      "\x80\x02"
      "cos\nsystem\nq\x00"s +
      text("touch " + marker) + "\x85R.";
  std::string message = error_of(bytes);
  EXPECT_NE(message.find("'os.system' is not allowed"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_NE(error_of("\x80\x02"
                     "cbuiltins\neval\n."s)
                .find("builtins.eval"),
            std::string::npos);
}

TEST(PickleReader, RefusesReduceOnAnythingButTensorRebuilds) {
  // A __torch__ class is allowed as a NEWOBJ attribute holder, never as a callable.
  std::string message = error_of(
      "\x80\x02"
      "c__torch__\nEvil\n)R.");
  EXPECT_NE(message.find("REDUCE calls '__torch__ Evil'"), std::string::npos) << message;
  message = error_of(
      "\x80\x02"
      "ctorch\nFloatStorage\n)R.");
  EXPECT_NE(message.find("torch FloatStorage"), std::string::npos) << message;
  message = error_of(
      "\x80\x02"
      "K\x01)R.");
  EXPECT_NE(message.find("REDUCE on a int"), std::string::npos) << message;
}

TEST(PickleReader, RefusesOpcodesOutsideTheSubset) {
  EXPECT_NE(error_of("\x80\x02(S'x'\ni__builtin__\nobject\n.").find("opcode 0x53"),
            std::string::npos);
  EXPECT_NE(error_of("\x80\x02"
                     "c__torch__\nM\n)\x81"
                     "K\x01"
                     "b.")
                .find("BUILD of a object from a int"),
            std::string::npos);
}

TEST(PickleReader, ReportsTruncationUnderflowAndCycles) {
  EXPECT_NE(error_of("\x80\x02X\x10\x00\x00\x00short"s).find("truncated"), std::string::npos);
  EXPECT_NE(error_of("\x80\x02K\x01").find("truncated"), std::string::npos);
  EXPECT_NE(error_of("\x80\x02t.").find("no MARK"), std::string::npos);
  EXPECT_NE(error_of("\x80\x02h\x05.").find("memo index 5"), std::string::npos);
  // A list appended to itself would be a reference cycle.
  EXPECT_NE(error_of("\x80\x02]q\x00h\x00"
                     "a."s)
                .find("cycle"),
            std::string::npos);
  std::string deep = "\x80\x02K\x00"s;
  for (int i = 0; i < 1000; ++i) deep += "\x85";
  EXPECT_NE(error_of(deep + ".").find("nest deeper"), std::string::npos);
}

}  // namespace
}  // namespace kiln::torchscript
