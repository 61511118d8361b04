#include "history/columns.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "common/json_scan.hpp"
#include "common/mapped_file.hpp"
#include "history/history.hpp"

namespace fj {

namespace {

// The distinct texts of one column of one slice, each with its code. Texts are views into the
// mapped file, or into texts made here (owned_) for lines that took the general reader.
class Dictionary {
 public:
  int32_t code(std::string_view text) {
    // A handful of texts (type, f, process): comparing beats hashing.
    if (order_.size() <= kLinear) {
      for (size_t i = 0; i < order_.size(); ++i)
        if (order_[i] == text) return static_cast<int32_t>(i);
    }
    auto [it, added] = codes_.try_emplace(text, static_cast<int32_t>(order_.size()));
    if (added) {
      if (order_.size() >= static_cast<size_t>(std::numeric_limits<int32_t>::max()))
        throw std::length_error("history columns: over 2^31 distinct texts in a column");
      order_.push_back(text);
    }
    return it->second;
  }
  int32_t code_of_copy(std::string text) {
    auto it = codes_.find(text);
    if (it != codes_.end()) return it->second;
    owned_.push_back(std::move(text));
    return code(owned_.back());
  }
  const std::vector<std::string_view>& texts() const { return order_; }

 private:
  static constexpr size_t kLinear = 8;
  std::unordered_map<std::string_view, int32_t> codes_;
  std::vector<std::string_view> order_;
  std::deque<std::string> owned_;  // a deque: texts never move, the views stay valid
};

enum Column { kProcess, kType, kF, kValue, kError, kColumns };

// What one slice of the file holds; bad line numbers are 1-based within the slice.
struct Slice {
  std::vector<int64_t> index, time;
  std::vector<int32_t> codes[kColumns];
  Dictionary dict[kColumns];
  std::vector<std::pair<size_t, std::string>> errors;
  size_t lines = 0;
};

// ---- the recorder's own form, taken without building JSON -------------------------------------

// A string the recorder writes as it is: printable ASCII without quotes or backslashes.
bool verbatim_string(JsonCursor& c, std::string_view& out) {
  if (!c.plain_string(out)) return false;
  return std::none_of(out.begin(), out.end(), [](char ch) { return ch == '\x7f'; });
}

// An integer as the recorder writes it (std::to_chars of an int64): no "-0", at most 18 digits
// (longer ones may not fit; they take the general reader).
bool verbatim_integer(JsonCursor& c, std::string_view& out) {
  const char* s = c.pos();
  bool is_float;
  if (!c.number(is_float) || is_float) return false;
  out = std::string_view(s, static_cast<size_t>(c.pos() - s));
  size_t digits = out.size() - (out[0] == '-');
  return digits <= 18 && out != "-0";
}

// A value whose text is exactly what the recorder writes for it (append_value_json): no
// whitespace, object keys in increasing order (nlohmann keeps objects sorted), strings and
// integers as above. Floats, escapes, unicode and whitespace take the general reader, which
// rewrites the value in that form.
bool verbatim_value(JsonCursor& c, int depth) {
  if (c.at_end() || depth > JsonCursor::kMaxDepth) return false;
  std::string_view text;
  switch (c.peek()) {
    case '"':
      return verbatim_string(c, text);
    case '[':
      c.eat('[');
      if (c.eat(']')) return true;
      for (;;) {
        if (!verbatim_value(c, depth + 1)) return false;
        if (c.eat(',')) continue;
        return c.eat(']');
      }
    case '{': {
      c.eat('{');
      if (c.eat('}')) return true;
      std::string_view previous;
      for (bool first = true;; first = false) {
        std::string_view key;
        if (!verbatim_string(c, key) || (!first && !(previous < key)) || !c.eat(':') ||
            !verbatim_value(c, depth + 1))
          return false;
        previous = key;
        if (c.eat(',')) continue;
        return c.eat('}');
      }
    }
    case 't':
      return c.literal("true");
    case 'f':
      return c.literal("false");
    case 'n':
      return c.literal("null");
    default:
      return verbatim_integer(c, text);
  }
}

bool is_op_type(std::string_view t) {
  return t == "invoke" || t == "ok" || t == "fail" || t == "info";
}

// The texts of one line in the recorder's form; views into the line (or, for a value that
// repeats, into the line where it was seen before).
struct LineTexts {
  int64_t index = 0, time = 0;
  std::string_view text[kColumns];
  bool has_error = false;
  int32_t value_code = TextColumn::kNone;  ///< known when the value repeats (RepeatedValues)
};

// The value each (process, type, f) had last: a poller's op mostly repeats its value (a job's
// id, its state), so a value is first compared with that one and, when the same, neither
// checked again nor hashed. Only values taken from complete lines are remembered.
class RepeatedValues {
 public:
  struct Entry {
    std::string_view process, type, f, value;
    int32_t code = TextColumn::kNone;
  };
  /// The remembered value of this op, or null.
  const Entry* find(const LineTexts& t) const {
    const Entry& e = slots_[slot(t)];
    bool same = e.code != TextColumn::kNone && e.process == t.text[kProcess] &&
                e.type == t.text[kType] && e.f == t.text[kF];
    return same ? &e : nullptr;
  }
  void remember(const LineTexts& t, int32_t code) {
    slots_[slot(t)] = {t.text[kProcess], t.text[kType], t.text[kF], t.text[kValue], code};
  }

 private:
  static size_t slot(const LineTexts& t) {
    size_t h = 0;
    for (int k : {kProcess, kType, kF}) {
      std::string_view v = t.text[k];
      h = h * 131 + v.size() * 31 + (v.empty() ? 0 : static_cast<unsigned char>(v.back()));
    }
    return h % kSlots;
  }
  static constexpr size_t kSlots = 256;
  Entry slots_[kSlots];
};

// Whether the value at the cursor is the remembered one: the same bytes, then the end of the
// member (so a number is not the start of a longer one). The cursor moves past it if so.
bool same_value(JsonCursor& c, const RepeatedValues::Entry& e, const char* end) {
  std::string_view v = e.value;
  const char* p = c.pos();
  if (static_cast<size_t>(end - p) <= v.size() || std::memcmp(p, v.data(), v.size()) != 0)
    return false;
  char next = p[v.size()];
  if (next != ',' && next != '}' && next != ' ' && next != '\t' && next != '\r') return false;
  c.seek(p + v.size());
  return true;
}

// Reads a line in the recorder's form (its fields in any order, each once); false for anything
// else, which the general reader then takes (and names what is wrong with a bad line).
bool scan_verbatim(std::string_view line, const RepeatedValues& repeated, LineTexts& out) {
  JsonCursor c(line);
  enum : unsigned { kIndex = 1, kTime = 2, kProc = 4, kTyp = 8, kFn = 16, kVal = 32, kErr = 64 };
  unsigned seen = 0;
  auto once = [&seen](unsigned bit) {
    if (seen & bit) return false;
    seen |= bit;
    return true;
  };
  out.text[kValue] = "null";
  out.has_error = false;
  out.value_code = TextColumn::kNone;
  bool ok = c.members([&](std::string_view key) {
    if (key == "index") return once(kIndex) && c.integer(out.index);
    if (key == "time") return once(kTime) && c.integer(out.time);
    if (key == "process") {
      if (!once(kProc) || c.at_end()) return false;
      return c.peek() == '"' ? verbatim_string(c, out.text[kProcess])
                             : verbatim_integer(c, out.text[kProcess]);
    }
    if (key == "type") return once(kTyp) && verbatim_string(c, out.text[kType]);
    if (key == "f") return once(kFn) && verbatim_string(c, out.text[kF]);
    if (key == "value") {
      if (!once(kVal)) return false;
      if ((seen & (kProc | kTyp | kFn)) == (kProc | kTyp | kFn)) {
        const RepeatedValues::Entry* e = repeated.find(out);
        if (e && same_value(c, *e, line.data() + line.size())) {
          out.text[kValue] = e->value;
          out.value_code = e->code;
          return true;
        }
      }
      const char* s = c.pos();
      if (!verbatim_value(c, 0)) return false;
      out.text[kValue] = std::string_view(s, static_cast<size_t>(c.pos() - s));
      return true;
    }
    if (key == "error") {
      if (!once(kErr) || c.at_end()) return false;
      if (c.peek() == 'n') return c.literal("null");
      return out.has_error = verbatim_string(c, out.text[kError]);
    }
    return c.skip_value();
  });
  c.ws();
  unsigned required = kIndex | kTime | kProc | kTyp | kFn;
  return ok && c.at_end() && (seen & required) == required && is_op_type(out.text[kType]);
}

// ---- slices ------------------------------------------------------------------------------------

bool blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

void parse_slice(std::string_view data, Slice& s) {
  size_t expect = static_cast<size_t>(std::count(data.begin(), data.end(), '\n')) + 1;
  s.index.reserve(expect);
  s.time.reserve(expect);
  for (auto& c : s.codes) c.reserve(expect);
  LineTexts t;
  RepeatedValues repeated;
  Op op;
  std::string reason, value_text;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    size_t stop = nl == std::string_view::npos ? data.size() : nl;
    std::string_view line = data.substr(pos, stop - pos);
    pos = stop + 1;
    size_t number = ++s.lines;
    if (blank(line)) continue;
    if (scan_verbatim(line, repeated, t)) {
      s.index.push_back(t.index);
      s.time.push_back(t.time);
      for (int k : {kProcess, kType, kF}) s.codes[k].push_back(s.dict[k].code(t.text[k]));
      int32_t value = t.value_code;
      if (value == TextColumn::kNone) {
        value = s.dict[kValue].code(t.text[kValue]);
        repeated.remember(t, value);
      }
      s.codes[kValue].push_back(value);
      s.codes[kError].push_back(t.has_error ? s.dict[kError].code(t.text[kError])
                                            : TextColumn::kNone);
      continue;
    }
    if (!parse_op_line(line, nl == std::string_view::npos, op, reason)) {
      s.errors.emplace_back(number, reason);
      continue;
    }
    s.index.push_back(op.index);
    s.time.push_back(op.time);
    s.codes[kProcess].push_back(s.dict[kProcess].code_of_copy(
        op.process.is_string() ? op.process.get<std::string>() : op.process.dump()));
    s.codes[kType].push_back(s.dict[kType].code_of_copy(op.type));
    s.codes[kF].push_back(s.dict[kF].code_of_copy(op.f));
    value_text.clear();
    append_value_json(value_text, op.value);
    s.codes[kValue].push_back(s.dict[kValue].code_of_copy(value_text));
    bool has_error =
        op.extra.is_object() && op.extra.contains("error") && !op.extra["error"].is_null();
    s.codes[kError].push_back(has_error ? s.dict[kError].code_of_copy(op.error())
                                        : TextColumn::kNone);
  }
}

// One column of every slice joined: the slices' dictionaries merged in order (so codes follow
// first appearance in the file), their codes renumbered.
TextColumn join_column(std::vector<Slice>& slices, int k) {
  TextColumn out;
  size_t rows = 0;
  for (const auto& s : slices) rows += s.codes[k].size();
  out.codes.reserve(rows);
  std::unordered_map<std::string_view, int32_t> global;
  for (auto& s : slices) {
    const auto& texts = s.dict[k].texts();
    std::vector<int32_t> renumber(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      auto [it, added] = global.try_emplace(texts[i], static_cast<int32_t>(out.texts.size()));
      if (added) out.texts.emplace_back(texts[i]);
      renumber[i] = it->second;
    }
    for (int32_t c : s.codes[k])
      out.codes.push_back(c == TextColumn::kNone ? c : renumber[static_cast<size_t>(c)]);
  }
  return out;
}

}  // namespace

HistoryColumns read_history_columns(const std::string& path) {
  MappedFile file(path);
  std::string_view all = file.view();
  // Large files are scanned in slices on every core, each with its own dictionaries.
  std::vector<size_t> cuts = line_slices(all);
  std::vector<Slice> slices(cuts.size() - 1);
  std::vector<std::exception_ptr> failed(slices.size());
  auto run = [&](size_t i) {
    try {
      parse_slice(all.substr(cuts[i], cuts[i + 1] - cuts[i]), slices[i]);
    } catch (...) {
      failed[i] = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> threads;
    for (size_t i = 1; i < slices.size(); ++i) threads.emplace_back(run, i);
    run(0);
  }
  for (auto& e : failed)
    if (e) std::rethrow_exception(e);

  HistoryColumns out;
  if (slices.size() == 1) {
    out.index = std::move(slices[0].index);
    out.time = std::move(slices[0].time);
  } else {
    for (auto& s : slices) {
      out.index.insert(out.index.end(), s.index.begin(), s.index.end());
      out.time.insert(out.time.end(), s.time.begin(), s.time.end());
    }
  }
  out.process = join_column(slices, kProcess);
  out.type = join_column(slices, kType);
  out.f = join_column(slices, kF);
  out.value = join_column(slices, kValue);
  out.error = join_column(slices, kError);
  size_t first_line = 0;
  for (auto& s : slices) {
    for (auto& [line, why] : s.errors) out.errors.emplace_back(first_line + line, std::move(why));
    first_line += s.lines;
  }
  return out;
}

}  // namespace fj
