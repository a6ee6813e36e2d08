// The opcode loop of the safe pickle reader. Calls (REDUCE, NEWOBJ, BUILD, BINPERSID) are
// interpreted by Kiln for the allowlisted globals only; nothing from the pickle is executed.
#include "frontends/torchscript/pickle_reader.h"

#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"

namespace kiln::torchscript {
namespace {

using Kind = PickleValue::Kind;
constexpr int kMaxDepth = 200;
constexpr size_t kMaxMemo = size_t{1} << 24;

class PickleReader {
 public:
  PickleReader(std::string_view bytes, const std::string& label) : bytes_(bytes), label_(label) {}

  PickleRef run() {
    while (true) {
      size_t at = position_;
      uint8_t op = byte();
      if (op == '.') break;
      step(op, at);
    }
    if (stack_.size() != 1 || !marks_.empty())
      bad("ends with ", stack_.size(), " values on the stack");
    return stack_.back();
  }

 private:
  template <typename... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    fail(ErrorKind::InvalidModel, label_, ": pickle at byte ", position_, ": ", parts...);
  }

  void need(size_t count) {
    if (bytes_.size() - position_ < count) bad("truncated (wanted ", count, " more bytes)");
  }
  uint8_t byte() {
    need(1);
    return static_cast<uint8_t>(bytes_[position_++]);
  }
  uint64_t little(size_t count) {
    need(count);
    uint64_t value = 0;
    for (size_t i = 0; i < count; ++i) {
      value |= uint64_t{static_cast<uint8_t>(bytes_[position_ + i])} << (8 * i);
    }
    position_ += count;
    return value;
  }
  std::string line() {
    size_t end = bytes_.find('\n', position_);
    if (end == std::string_view::npos) bad("truncated GLOBAL name");
    std::string text(bytes_.substr(position_, end - position_));
    position_ = end + 1;
    return text;
  }

  static PickleRef make(Kind kind) {
    auto value = std::make_shared<PickleValue>();
    value->kind = kind;
    return value;
  }
  PickleRef pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      bad("stack underflow");
    PickleRef value = stack_.back();
    stack_.pop_back();
    return value;
  }
  PickleRef& top() {
    if (stack_.empty()) bad("stack underflow");
    return stack_.back();
  }
  std::vector<PickleRef> pop_to_mark() {
    if (marks_.empty()) bad("no MARK to pop to");
    size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleRef> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  void push(PickleRef value) {
    if (value->depth > kMaxDepth) bad("values nest deeper than ", kMaxDepth, " levels");
    stack_.push_back(std::move(value));
  }
  // Marks `child` as held by `container`. A held value is never mutated again, which rules
  // out reference cycles (and the leaks and unbounded recursion they would bring).
  void grow(PickleValue& container, const PickleRef& child) {
    if (child.get() == &container || contained_.count(&container)) {
      bad("a container is modified after it was placed in another one (a cycle?)");
    }
    if (contained_.insert(child.get()).second) held_.push_back(child);
    if (child->depth + 1 > kMaxDepth) bad("values nest deeper than ", kMaxDepth, " levels");
    container.depth = std::max(container.depth, child->depth + 1);
  }
  PickleRef sequence(Kind kind, std::vector<PickleRef> items) {
    PickleRef value = make(kind);
    for (const PickleRef& item : items) grow(*value, item);
    value->items = std::move(items);
    return value;
  }
  void put(uint64_t index) {
    if (index >= kMaxMemo) bad("memo index ", index, " is too large");
    memo_[index] = top();
  }
  void get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) bad("memo index ", index, " is read before it is written");
    push(it->second);
  }

  void step(uint8_t op, size_t at) {
    switch (op) {
      case 0x80:
        byte();
        return;  // PROTO
      case '(':
        marks_.push_back(stack_.size());
        return;
      case 'N':
        push(make(Kind::None));
        return;
      case 0x88:
      case 0x89: {
        PickleRef v = make(Kind::Bool);
        v->boolean = op == 0x88;
        push(v);
        return;
      }
      case 'K':
        integer(static_cast<int64_t>(little(1)));
        return;
      case 'M':
        integer(static_cast<int64_t>(little(2)));
        return;
      case 'J':
        integer(static_cast<int32_t>(little(4)));
        return;
      case 0x8a:
        long1();
        return;
      case 'G':
        binfloat();
        return;
      case 'X':
        unicode(little(4));
        return;
      case 0x8c:
        unicode(little(1));
        return;  // SHORT_BINUNICODE
      case ')':
        push(make(Kind::Tuple));
        return;
      case ']':
        push(make(Kind::List));
        return;
      case '}':
        push(make(Kind::Dict));
        return;
      case 't':
        push(sequence(Kind::Tuple, pop_to_mark()));
        return;
      case 0x85:
      case 0x86:
      case 0x87: {
        std::vector<PickleRef> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        push(sequence(Kind::Tuple, std::move(items)));
        return;
      }
      case 'q':
        put(little(1));
        return;
      case 'r':
        put(little(4));
        return;
      case 'h':
        get(little(1));
        return;
      case 'j':
        get(little(4));
        return;
      case 'a': {
        PickleRef item = pop();
        append(top(), {item});
        return;
      }
      case 'e': {
        auto items = pop_to_mark();
        append(top(), items);
        return;
      }
      case 's': {
        PickleRef value = pop();
        PickleRef key = pop();
        set_items(top(), {key, value});
        return;
      }
      case 'u': {
        auto items = pop_to_mark();
        set_items(top(), items);
        return;
      }
      case 'c':
        global();
        return;
      case 'Q':
        persistent_id();
        return;
      case 'R': {
        PickleRef args = pop();
        PickleRef callable = pop();
        push(reduce(*callable, *args));
        return;
      }
      case 0x81: {
        PickleRef args = pop();
        PickleRef cls = pop();
        push(new_object(*cls, *args));
        return;
      }
      case 'b': {
        PickleRef state = pop();
        build(top(), state);
        return;
      }
      default:
        break;
    }
    position_ = at;
    const char* hex = "0123456789abcdef";
    bad("opcode 0x", hex[op >> 4], hex[op & 15],
        " is not one TorchScript archives use; Kiln refuses it");
  }

  void integer(int64_t value) {
    PickleRef v = make(Kind::Int);
    v->integer = value;
    push(v);
  }
  void long1() {
    size_t count = byte();
    if (count > 8) bad("LONG1 of ", count, " bytes does not fit in 64 bits");
    uint64_t raw = little(count);
    if (count > 0 && count < 8 && (raw >> (8 * count - 1)) & 1) raw |= ~uint64_t{0} << (8 * count);
    integer(static_cast<int64_t>(raw));
  }
  void binfloat() {
    need(8);
    uint64_t raw = 0;
    for (size_t i = 0; i < 8; ++i) raw = (raw << 8) | static_cast<uint8_t>(bytes_[position_ + i]);
    position_ += 8;
    double value;
    std::memcpy(&value, &raw, sizeof value);
    PickleRef v = make(Kind::Float);
    v->number = value;
    push(v);
  }
  void unicode(uint64_t length) {
    need(length);
    PickleRef v = make(Kind::String);
    v->text = std::string(bytes_.substr(position_, length));
    position_ += length;
    push(v);
  }
  void append(PickleRef& list, const std::vector<PickleRef>& items) {
    if (list->kind != Kind::List) bad("APPEND to a ", pickle_kind_name(list->kind), ", not a list");
    for (const PickleRef& item : items) {
      grow(*list, item);
      list->items.push_back(item);
    }
  }
  void set_items(PickleRef& dict, const std::vector<PickleRef>& items) {
    if (dict->kind != Kind::Dict)
      bad("SETITEM on a ", pickle_kind_name(dict->kind), ", not a dict");
    if (items.size() % 2 != 0) bad("SETITEMS with an odd number of values");
    for (size_t i = 0; i < items.size(); i += 2) {
      grow(*dict, items[i]);
      grow(*dict, items[i + 1]);
      dict->entries.emplace_back(items[i], items[i + 1]);
    }
  }

  void global() {
    std::string module = line();
    std::string name = line();
    if (!is_allowed_global(module, name)) {
      bad("global '", module, ".", name,
          "' is not allowed; a TorchScript archive references only tensors, storages and "
          "__torch__ classes, so Kiln refuses this pickle without running anything");
    }
    if (module == "torch" && name.ends_with("Storage")) storage_type_of_class(name, label_);
    PickleRef v = make(Kind::Global);
    v->text = module + " " + name;
    push(v);
  }

  void persistent_id() {
    PickleRef id = pop();
    const auto& f = id->items;
    if (id->kind != Kind::Tuple || f.size() != 5 || f[0]->kind != Kind::String ||
        f[0]->text != "storage" || f[1]->kind != Kind::Global || f[2]->kind != Kind::String ||
        f[4]->kind != Kind::Int || f[4]->integer < 0) {
      bad("persistent id is not ('storage', torch.<Type>Storage, key, location, numel)");
    }
    std::string_view type = f[1]->text;
    if (!type.starts_with("torch ")) bad("persistent id names '", type, "', not a storage type");
    PickleRef v = make(Kind::Storage);
    StorageType storage_type = storage_type_of_class(type.substr(6), label_);
    v->storage.dtype = storage_type.dtype;
    v->storage.complex = storage_type.complex;
    v->storage.key = f[2]->text;
    v->storage.numel = f[4]->integer;
    push(v);
  }

  Dims int_tuple(const PickleValue& tuple, const char* what) {
    if (tuple.kind != Kind::Tuple) bad("tensor ", what, " are not a tuple");
    Dims values;
    for (const PickleRef& item : tuple.items) {
      if (item->kind != Kind::Int) bad("tensor ", what, " hold a ", pickle_kind_name(item->kind));
      values.push_back(item->integer);
    }
    return values;
  }

  PickleRef reduce(const PickleValue& callable, const PickleValue& args) {
    if (callable.kind != Kind::Global)
      bad("REDUCE on a ", pickle_kind_name(callable.kind), ", not a global");
    if (args.kind != Kind::Tuple) bad("REDUCE arguments are a ", pickle_kind_name(args.kind));
    const auto& a = args.items;
    const std::string& name = callable.text;
    if (name == "torch._utils _rebuild_tensor_v2") {
      if (a.size() < 4 || a[0]->kind != Kind::Storage || a[1]->kind != Kind::Int) {
        bad("_rebuild_tensor_v2 expects (storage, offset, sizes, strides, ...)");
      }
      PickleRef v = make(Kind::Tensor);
      v->tensor.storage = a[0]->storage;
      v->tensor.storage_offset = a[1]->integer;
      v->tensor.sizes = int_tuple(*a[2], "sizes");
      v->tensor.strides = int_tuple(*a[3], "strides");
      if (v->tensor.sizes.size() != v->tensor.strides.size())
        bad("tensor sizes and strides differ in rank");
      return v;
    }
    if (name == "torch._utils _rebuild_parameter" || name == "torch.jit._pickle restore_type_tag") {
      if (a.empty()) bad(name, " without arguments");
      return a[0];
    }
    if (name == "collections OrderedDict") {
      if (!a.empty()) bad("OrderedDict with arguments");
      return make(Kind::Dict);
    }
    bad("REDUCE calls '", name,
        "', which Kiln does not allow (only tensor rebuilds and "
        "OrderedDict); nothing was run");
  }

  PickleRef new_object(const PickleValue& cls, const PickleValue& args) {
    if (cls.kind != Kind::Global || !cls.text.starts_with("__torch__")) {
      bad("NEWOBJ of '",
          cls.kind == Kind::Global ? cls.text : std::string(pickle_kind_name(cls.kind)),
          "'; only __torch__ module classes may be created");
    }
    if (args.kind != Kind::Tuple || !args.items.empty())
      bad("NEWOBJ of '", cls.text, "' with arguments");
    PickleRef v = make(Kind::Object);
    v->text = cls.text;
    return v;
  }

  void build(PickleRef& target, const PickleRef& state) {
    if (target->kind == Kind::Tensor) return;  // tensor state (hooks, requires_grad): unused
    if (target->kind != Kind::Object || state->kind != Kind::Dict) {
      bad("BUILD of a ", pickle_kind_name(target->kind), " from a ", pickle_kind_name(state->kind),
          "; only module objects take attribute dicts");
    }
    grow(*target, state);
    for (const auto& entry : state->entries) target->entries.push_back(entry);
  }

  std::string_view bytes_;
  const std::string& label_;
  size_t position_ = 0;
  std::vector<PickleRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleRef> memo_;
  std::unordered_set<const PickleValue*> contained_;
  std::vector<PickleRef> held_;  // keeps contained_ addresses from being reused
};

}  // namespace

PickleRef read_pickle(std::string_view bytes, const std::string& label) {
  return PickleReader(bytes, label).run();
}

}  // namespace kiln::torchscript
