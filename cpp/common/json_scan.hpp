#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace fj {

// A cursor over the bytes [p, end) of one history line, for the hand-rolled readers that take the
// common subset of JSON fast (history.cpp, exactly_once.cpp): ASCII strings without escapes, any
// numbers, nesting up to kMaxDepth. Each primitive accepts only valid JSON, so a line a reader
// takes is one nlohmann would take too; anything else goes to nlohmann, which also says what is
// wrong with a corrupt line. After a primitive returns false the position is unspecified: the
// reader gives up on the line or seeks back.
class JsonCursor {
 public:
  static constexpr int kMaxDepth = 64;

  JsonCursor(const char* p, const char* end) : p_(p), end_(end) {}
  explicit JsonCursor(std::string_view s) : JsonCursor(s.data(), s.data() + s.size()) {}

  bool at_end() const { return p_ == end_; }
  /// The next byte; only when !at_end().
  char peek() const { return *p_; }
  const char* pos() const { return p_; }
  const char* end() const { return end_; }
  void seek(const char* p) { p_ = p; }

  [[gnu::always_inline]] void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\r' || *p_ == '\n')) ++p_;
  }

  [[gnu::always_inline]] bool eat(char c) {
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }

  /// A string without escapes or bytes outside printable ASCII; out views its characters.
  bool plain_string(std::string_view& out) {
    if (!eat('"')) return false;
    const char* s = p_;
    while (p_ < end_) {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(s, static_cast<size_t>(p_ - s));
        ++p_;
        return true;
      }
      if (c < 0x20 || c >= 0x80 || c == '\\') return false;
      ++p_;
    }
    return false;
  }

  /// An object member's key and the colon after it, with the whitespace around both.
  [[gnu::always_inline]] bool key(std::string_view& out) {
    ws();
    if (!plain_string(out)) return false;
    ws();
    if (!eat(':')) return false;
    ws();
    return true;
  }

  /// A JSON integer that fits int64; false for anything else (a float, too big, not a number).
  [[gnu::always_inline]] bool integer(int64_t& out) {
    const char* s = p_;
    bool neg = eat('-');
    const char* d = p_;
    uint64_t v = 0;
    while (p_ < end_ && static_cast<unsigned char>(*p_ - '0') < 10) {
      v = v * 10 + static_cast<uint64_t>(*p_ - '0');
      ++p_;
    }
    size_t n = static_cast<size_t>(p_ - d);
    if (n == 0 || (n > 1 && *d == '0')) return false;
    if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    if (n > 18) {  // may not fit: let from_chars decide
      auto r = std::from_chars(s, p_, out);
      return r.ec == std::errc() && r.ptr == p_;
    }
    out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    return true;
  }

  /// A JSON number (its text is [pos() before, pos() after)); is_float when it has a fraction or
  /// an exponent.
  bool number(bool& is_float) {
    is_float = false;
    eat('-');
    if (eat('0')) {
    } else if (!digits()) {
      return false;
    }
    if (eat('.')) {
      if (!digits()) return false;
      is_float = true;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (!eat('+')) eat('-');
      if (!digits()) return false;
      is_float = true;
    }
    return true;
  }

  /// The literal word (true, false, null).
  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    return true;
  }

  /// Reads one object, handing each member's key to `member`, which reads the member's value at
  /// the cursor (returning false gives up). True when the whole object was read.
  template <class Member>
  bool members(Member&& member) {
    ws();
    if (!eat('{')) return false;
    ws();
    if (eat('}')) return true;
    for (;;) {
      std::string_view k;
      if (!key(k) || !member(k)) return false;
      ws();
      if (eat(',')) continue;
      return eat('}');
    }
  }

  /// A history line's "index" or "time" member (the key is one of them): an int64 into `out`.
  bool op_clock(std::string_view k, int64_t& index, int64_t& time, bool& has_index,
                bool& has_time) {
    int64_t v;
    if (!integer(v)) return false;
    (k == "index" ? index : time) = v;
    (k == "index" ? has_index : has_time) = true;
    return true;
  }

  /// Skips one JSON value, checking it is valid (within the subset).
  bool skip_value(int depth = 0) {
    if (p_ >= end_ || depth > kMaxDepth) return false;
    switch (*p_) {
      case '"': {
        std::string_view sv;
        return plain_string(sv);
      }
      case '[':
        ++p_;
        ws();
        if (eat(']')) return true;
        for (;;) {
          ws();
          if (!skip_value(depth + 1)) return false;
          ws();
          if (eat(',')) continue;
          return eat(']');
        }
      case '{':
        ++p_;
        ws();
        if (eat('}')) return true;
        for (;;) {
          std::string_view k;
          if (!key(k) || !skip_value(depth + 1)) return false;
          ws();
          if (eat(',')) continue;
          return eat('}');
        }
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default: {
        bool is_float;
        return number(is_float);
      }
    }
  }

 private:
  bool digits() {
    const char* s = p_;
    while (p_ < end_ && static_cast<unsigned char>(*p_ - '0') < 10) ++p_;
    return p_ > s;
  }

  const char* p_;
  const char* end_;
};

}  // namespace fj
