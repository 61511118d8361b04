#include "check/exactly_once.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "common/json_scan.hpp"
#include "common/mapped_file.hpp"

namespace fj {

namespace {

// ---- what a line is about ----------------------------------------------------------------------

enum class Target { skip, send_ok, send_info, send_fail, poll_ok, poll_not_ok };

constexpr const char* kBadType = "type is not one of invoke, ok, fail, info";
constexpr const char* kBadSend =
    "send completion value is not a list of [id, key, seq] integer lists";
constexpr const char* kBadPoll =
    "poll completion value is not a list of [id, key, seq, count, prev_seq] integer lists";

// What an op of this f and type means to the checker; false for a type that is not an op's.
bool classify(std::string_view f, std::string_view type, Target& t) {
  bool invoke = type == "invoke", ok = type == "ok", info = type == "info";
  if (!invoke && !ok && !info && type != "fail") return false;
  if (invoke)
    t = Target::skip;
  else if (f == "send")
    t = ok ? Target::send_ok : info ? Target::send_info : Target::send_fail;
  else if (f == "poll")
    t = ok ? Target::poll_ok : Target::poll_not_ok;
  else
    t = Target::skip;
  return true;
}

bool wants_records(Target t) { return t != Target::skip && t != Target::poll_not_ok; }

const char* shape_error(Target t) { return t == Target::poll_ok ? kBadPoll : kBadSend; }

// Huge pages for a large stretch of fresh memory, where the system allows them: a fault per 2 MB
// instead of per 4 kB while the records are written.
void advise_huge_pages(void* data, size_t bytes) {
  constexpr uintptr_t kHuge = 2u << 20;
  auto from = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  auto to = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (to > from) ::madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
}

// Anonymous memory mapped for one block of records: given back to the system when freed (the
// allocator may keep freed heap memory, and a slice's blocks are freed while the final lists
// fill). Only the pages written cost memory.
template <class T>
class MappedBlock {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  explicit MappedBlock(size_t capacity) : capacity_(capacity) {
    void* p = ::mmap(nullptr, capacity * sizeof(T), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    advise_huge_pages(p, capacity * sizeof(T));
    data_ = static_cast<T*>(p);
  }
  ~MappedBlock() { ::munmap(data_, capacity_ * sizeof(T)); }
  MappedBlock(const MappedBlock&) = delete;
  MappedBlock& operator=(const MappedBlock&) = delete;

  T* data() const { return data_; }

 private:
  T* data_ = nullptr;
  size_t capacity_;
};

// A list that grows by fixed blocks: nothing is copied as it grows, so a slice's records take
// their own size (not up to twice that), and they are copied once, into the final lists.
template <class T>
class Blocks {
 public:
  [[gnu::always_inline]] void push_back(const T& v) {
    if (used_ == kBlock || !last_) {
      blocks_.push_back(std::make_unique<MappedBlock<T>>(kBlock));
      last_ = blocks_.back()->data();
      used_ = 0;
    }
    last_[used_++] = v;
  }
  size_t size() const { return blocks_.empty() ? 0 : (blocks_.size() - 1) * kBlock + used_; }
  void truncate(size_t n) {
    if (n >= size()) return;
    size_t keep = n == 0 ? 0 : (n - 1) / kBlock + 1;
    blocks_.resize(keep);
    last_ = blocks_.empty() ? nullptr : blocks_.back()->data();
    used_ = n - (keep == 0 ? 0 : (keep - 1) * kBlock);
  }
  /// Appends everything to out, giving each block back as soon as it is copied.
  void move_into(std::vector<T>& out) {
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const T* b = blocks_[i]->data();
      out.insert(out.end(), b, b + (i + 1 == blocks_.size() ? used_ : kBlock));
      blocks_[i].reset();
    }
    blocks_.clear();
    last_ = nullptr;
    used_ = 0;
  }

 private:
  static constexpr size_t kBlock = (64u << 20) / sizeof(T);  // 64 MB of address space
  std::vector<std::unique_ptr<MappedBlock<T>>> blocks_;
  T* last_ = nullptr;  // the last block's records (owned by blocks_), null when there is none
  size_t used_ = 0;    // records in the last block
};

// What one slice of the file holds; bad line numbers are 1-based within the slice.
struct Slice {
  Blocks<SentRecord> ok, info, fail;
  Blocks<OutputRecord> read;
  size_t polls_ok = 0, polls_failed = 0, bad_line_count = 0, lines = 0;
  std::vector<BadLine> bad_lines;
};

// Where a line's records go, and how far every list was before it (to take a line back).
struct Sink {
  Slice& h;
  size_t mark_ok = 0, mark_info = 0, mark_fail = 0, mark_read = 0;

  void mark() {
    mark_ok = h.ok.size();
    mark_info = h.info.size();
    mark_fail = h.fail.size();
    mark_read = h.read.size();
  }
  void rollback() {
    h.ok.truncate(mark_ok);
    h.info.truncate(mark_info);
    h.fail.truncate(mark_fail);
    h.read.truncate(mark_read);
  }
  Blocks<SentRecord>& sent(Target t) {
    return t == Target::send_ok ? h.ok : t == Target::send_info ? h.info : h.fail;
  }
};

// ---- the fast scanner --------------------------------------------------------------------------

// The lines are read with JsonCursor (common/json_scan.hpp): the common subset of JSON, anything
// else goes to nlohmann.

/// One N-integer list as the recorder writes it, "[12,3,45]": no whitespace, integers of at
/// most 18 digits. On success p moves past it; on false nothing is consumed and the general
/// parse (JsonCursor) takes the list, so this only decides how fast a list is read.
template <size_t N>
[[gnu::always_inline]] inline bool compact_tuple(const char*& p, const char* end, int64_t* v) {
  const char* q = p;
  if (end - q < static_cast<ptrdiff_t>(2 * N + 1) || *q != '[') return false;
  ++q;
  for (size_t i = 0; i < N; ++i) {
    bool neg = q < end && *q == '-';
    q += neg;
    const char* digits = q;
    uint64_t x = 0;
    while (q < end && static_cast<unsigned char>(*q - '0') < 10) {
      x = x * 10 + static_cast<uint64_t>(*q - '0');
      ++q;
    }
    size_t n = static_cast<size_t>(q - digits);
    if (n == 0 || n > 18 || (n > 1 && *digits == '0')) return false;
    v[i] = neg ? -static_cast<int64_t>(x) : static_cast<int64_t>(x);
    if (q >= end || *q != (i + 1 < N ? ',' : ']')) return false;  // also: no float, no space
    ++q;
  }
  p = q;
  return true;
}

/// Parses a list of N-integer lists, calling push for each; false at the first deviation.
template <size_t N, class Push>
bool tuples(JsonCursor& c, Push push) {
  c.ws();
  if (!c.eat('[')) return false;
  c.ws();
  if (c.eat(']')) return true;
  for (;;) {
    int64_t v[N];
    const char* p = c.pos();
    if (compact_tuple<N>(p, c.end(), v)) {
      c.seek(p);
    } else {
      c.ws();
      if (!c.eat('[')) return false;
      for (size_t i = 0; i < N; ++i) {
        c.ws();
        if (!c.integer(v[i])) return false;
        c.ws();
        if (i + 1 < N && !c.eat(',')) return false;
      }
      if (!c.eat(']')) return false;
    }
    push(v);
    if (c.eat(',')) continue;
    c.ws();
    if (c.eat(',')) continue;
    return c.eat(']');
  }
}

template <size_t N>
bool parse_records(JsonCursor& c, Target t, Sink& sink) {
  if constexpr (N == 3) {
    auto& out = sink.sent(t);
    return tuples<3>(c, [&](const int64_t* v) { out.push_back({v[0], v[1], v[2]}); });
  } else {
    auto& out = sink.h.read;
    return tuples<5>(c, [&](const int64_t* v) { out.push_back({v[0], v[1], v[2], v[3], v[4]}); });
  }
}

// Parses a value (at the cursor) into the records of t; the cursor ends after the value.
bool records_from_bytes(JsonCursor& c, Target t, Sink& sink) {
  return t == Target::poll_ok ? parse_records<5>(c, t, sink) : parse_records<3>(c, t, sink);
}

// Skips a value not wanted (an invoke's), checking it is JSON. A send's invoke carries all its
// records: they are read as such (fast) and dropped; anything else is skipped value by value.
bool skip_records(JsonCursor& c, std::string_view f, bool known) {
  const char* at = c.pos();
  if (known && f == "send" && tuples<3>(c, [](const int64_t*) {})) return true;
  c.seek(at);
  return c.skip_value();
}

enum class Scan { done, bad, fallback };

// One line in the fast subset. The fields are found in any order; in the usual one (type and f
// before value) the records are parsed where they stand, else the value is parsed afterwards.
Scan scan_fast(std::string_view text, Sink& sink, Target& target, std::string& error) {
  JsonCursor c(text);
  std::string_view f, type;
  bool has_f = false, has_type = false, has_value = false, parsed = false, bad_shape = false;
  const char* value_at = nullptr;
  target = Target::skip;
  bool known = false;  // target is known (f and type seen, type valid)

  c.ws();
  if (!c.eat('{')) return Scan::fallback;
  c.ws();
  if (c.eat('}')) return Scan::fallback;  // {}: nlohmann names the missing field
  for (;;) {
    std::string_view key;
    if (!c.key(key)) return Scan::fallback;
    if (key == "f" || key == "type") {
      bool& seen = key == "f" ? has_f : has_type;
      if (seen || !c.plain_string(key == "f" ? f : type)) return Scan::fallback;
      seen = true;
      if (has_f && has_type) {
        if (!classify(f, type, target)) {
          error = kBadType;
          // Still a bad line only if the rest is JSON: finish the scan first.
        } else {
          known = true;
        }
      }
    } else if (key == "value") {
      if (has_value) return Scan::fallback;
      has_value = true;
      value_at = c.pos();
      if (known && wants_records(target)) {
        if (records_from_bytes(c, target, sink)) {
          parsed = true;
        } else {
          sink.rollback();
          c.seek(value_at);
          if (!c.skip_value()) return Scan::fallback;
          bad_shape = true;
        }
      } else if (!skip_records(c, f, known)) {
        return Scan::fallback;
      }
    } else if (!c.skip_value()) {
      return Scan::fallback;
    }
    c.ws();
    if (c.eat(',')) continue;
    if (c.eat('}')) break;
    return Scan::fallback;
  }
  c.ws();
  if (!c.at_end() || !has_f || !has_type) return Scan::fallback;
  if (!error.empty()) return Scan::bad;
  if (!known && !classify(f, type, target)) {
    error = kBadType;
    return Scan::bad;
  }
  if (!wants_records(target) || parsed) return Scan::done;
  if (!bad_shape && has_value) {
    JsonCursor v(value_at, text.data() + text.size());
    if (records_from_bytes(v, target, sink)) return Scan::done;
    sink.rollback();
  }
  error = shape_error(target);
  return Scan::bad;
}

// ---- the slow path -----------------------------------------------------------------------------

template <size_t N, class Push>
bool tuples_from_json(const json& v, Push push) {
  if (!v.is_array()) return false;
  for (const auto& e : v) {
    if (!e.is_array() || e.size() != N) return false;
    int64_t t[N];
    for (size_t i = 0; i < N; ++i) {
      const json& x = e[i];
      if (x.is_number_unsigned() && x.get<uint64_t>() > uint64_t(INT64_MAX)) return false;
      if (!x.is_number_integer()) return false;
      t[i] = x.get<int64_t>();
    }
    push(t);
  }
  return true;
}

Scan scan_json(std::string_view text, bool unterminated, Sink& sink, Target& t,
               std::string& error) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) {
    error = unterminated ? "invalid JSON (truncated last line?)" : "invalid JSON";
    return Scan::bad;
  }
  if (!j.is_object()) {
    error = "not a JSON object";
    return Scan::bad;
  }
  auto f = j.find("f");
  auto type = j.find("type");
  if (f == j.end() || type == j.end()) {
    error = std::string("missing field '") + (f == j.end() ? "f" : "type") + "'";
    return Scan::bad;
  }
  if (!f->is_string()) {
    error = "f is not a string";
    return Scan::bad;
  }
  if (!type->is_string() ||
      !classify(f->get_ref<const std::string&>(), type->get_ref<const std::string&>(), t)) {
    error = kBadType;
    return Scan::bad;
  }
  if (!wants_records(t)) return Scan::done;
  auto v = j.find("value");
  static const json null_value;
  const json& value = v == j.end() ? null_value : *v;
  bool ok;
  if (t == Target::poll_ok) {
    auto& out = sink.h.read;
    ok = tuples_from_json<5>(value, [&](const int64_t* x) {
      out.push_back({x[0], x[1], x[2], x[3], x[4]});
    });
  } else {
    auto& out = sink.sent(t);
    ok = tuples_from_json<3>(value, [&](const int64_t* x) { out.push_back({x[0], x[1], x[2]}); });
  }
  if (ok) return Scan::done;
  sink.rollback();
  error = shape_error(t);
  return Scan::bad;
}

bool blank(std::string_view line) {
  for (char c : line)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

// Parses the lines of the file's [begin, end) (begin at a line start) into h.
void parse_slice(const MappedFile& file, size_t begin, size_t end, Slice& h) {
  std::string_view all = file.view();
  Sink sink{h};
  std::string error;
  size_t lines = 0;
  size_t pos = begin;
  size_t released = begin;
  constexpr size_t kReleaseEvery = 32u << 20;
  while (pos < end) {
    const void* nlp = std::memchr(all.data() + pos, '\n', end - pos);
    size_t stop = nlp ? static_cast<size_t>(static_cast<const char*>(nlp) - all.data()) : end;
    bool unterminated = !nlp;
    std::string_view text = all.substr(pos, stop - pos);
    if (pos - released >= kReleaseEvery) {  // what came before this line is done with
      file.release(released, pos);
      released = pos;
    }
    pos = stop + 1;
    ++lines;
    if (blank(text)) continue;
    sink.mark();
    error.clear();
    Target t = Target::skip;
    Scan s = scan_fast(text, sink, t, error);
    if (s == Scan::fallback) {
      sink.rollback();
      error.clear();
      s = scan_json(text, unterminated, sink, t, error);
    }
    if (s == Scan::bad) {
      if (h.bad_lines.size() < ExactlyOnceHistory::kMaxBadLinesKept)
        h.bad_lines.push_back({lines, error});
      ++h.bad_line_count;
      continue;
    }
    h.polls_ok += t == Target::poll_ok;
    h.polls_failed += t == Target::poll_not_ok;
  }
  file.release(released, end);
  h.lines = lines;
}

// ---- the check ---------------------------------------------------------------------------------

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
constexpr size_t kMaxPositions = 10;

// An id's best send outcome.
enum Status : uint8_t { kNotSent = 0, kFailed = 1, kUnknown = 2, kAcked = 3 };

struct Unexpected {
  int64_t id;
  uint32_t pos;
  UnexpectedExample::Reason reason;
  const SentRecord* sent;  // fields_differ only
};

// Whether ids (or keys) in [lo, hi] are few enough for a table indexed by value.
bool dense(int64_t lo, int64_t hi, size_t n) {
  uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  return span < 2 * static_cast<uint64_t>(n) + 1024 && span < kNone;
}

// int64 order as unsigned order.
uint64_t ordered(int64_t v) { return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63); }

// Stable LSD radix sort by a 64-bit key, 16 bits a pass, skipping the passes whose digit is the
// same for every element (the high digits of ids that are not spread out): several times
// faster than std::sort on millions of records, and stable, so ties keep their fill order.
template <class T, class Key>
void radix_sort(std::vector<T>& v, Key key) {
  constexpr size_t kBuckets = 1 << 16;
  size_t n = v.size();
  if (n < 2) return;
  std::vector<size_t> count(4 * kBuckets, 0);
  for (const T& e : v) {
    uint64_t k = key(e);
    for (size_t d = 0; d < 4; ++d) ++count[d * kBuckets + ((k >> (16 * d)) & 0xffff)];
  }
  std::vector<T> tmp(n);
  for (size_t d = 0; d < 4; ++d) {
    size_t* c = count.data() + d * kBuckets;
    if (c[(key(v[0]) >> (16 * d)) & 0xffff] == n) continue;
    size_t sum = 0;
    for (size_t b = 0; b < kBuckets; ++b) sum += std::exchange(c[b], sum);
    for (const T& e : v) tmp[c[(key(e) >> (16 * d)) & 0xffff]++] = e;
    v.swap(tmp);
  }
}

int64_t plus_one(int64_t v) { return static_cast<int64_t>(static_cast<uint64_t>(v) + 1); }

class Checker {
  static constexpr size_t kParallelFrom = 1u << 20;  // output records

 public:
  Checker(const ExactlyOnceHistory& h, size_t max_examples) : h_(h), max_(max_examples) {
    for (size_t n : {h.ok.size(), h.info.size(), h.fail.size(), h.read.size()})
      if (n >= kNone) throw std::length_error("exactly-once check: over 4e9 records in a list");
  }

  ExactlyOnceResult run() {
    r_.polls_ok = h_.polls_ok;
    r_.polls_failed = h_.polls_failed;
    r_.read = h_.read.size();
    // The walk over keys (order, state) shares nothing with the join over ids but the const
    // history: on a large one it runs beside it.
    {
      std::exception_ptr walk_failed;
      std::jthread walk;
      auto walk_keys_safely = [&] {
        try {
          walk_keys();
        } catch (...) {
          walk_failed = std::current_exception();
        }
      };
      if (h_.read.size() >= kParallelFrom)
        walk = std::jthread(walk_keys_safely);
      else
        walk_keys_safely();
      join_ids();
      duplicate_examples();
      unexpected_examples();
      if (walk.joinable()) walk.join();
      if (walk_failed) std::rethrow_exception(walk_failed);
    }
    order_and_state_examples();
    r_.bad_line_count = h_.bad_line_count;
    for (size_t i = 0; i < h_.bad_lines.size() && i < max_; ++i)
      r_.bad_lines.push_back(h_.bad_lines[i]);
    verdict();
    return std::move(r_);
  }

 private:
  const SentRecord& sent(uint8_t status, uint32_t where) const {
    return status == kAcked ? h_.ok[where] : status == kUnknown ? h_.info[where] : h_.fail[where];
  }

  // One output record, with its id's best send (status kNotSent: none).
  void on_read(uint32_t pos, uint8_t status, uint32_t where) {
    const OutputRecord& o = h_.read[pos];
    if (status == kNotSent) {
      unexpected_.push_back({o.id, pos, UnexpectedExample::Reason::never_sent, nullptr});
    } else if (status == kFailed) {
      unexpected_.push_back({o.id, pos, UnexpectedExample::Reason::send_failed, nullptr});
    } else {
      const SentRecord& s = sent(status, where);
      if (s.key != o.key || s.seq != o.seq)
        unexpected_.push_back({o.id, pos, UnexpectedExample::Reason::fields_differ, &s});
    }
  }

  // One distinct id (sent or read), in increasing id order, after all its on_read calls.
  void on_id(int64_t id, uint8_t status, uint32_t where, uint64_t copies) {
    if (copies) ++r_.distinct_read;
    if (copies > 1) {
      ++r_.duplicated.count;
      r_.duplicated.extra_copies += copies - 1;
      if (duplicate_ids_.size() < max_) duplicate_ids_.push_back(id);
    }
    switch (status) {
      case kAcked:
        ++r_.sent.ok;
        if (!copies) {
          ++r_.lost.count;
          if (r_.lost.examples.size() < max_) {
            const SentRecord& s = sent(status, where);
            r_.lost.examples.push_back({s.id, s.key, s.seq});
          }
        }
        break;
      case kUnknown:
        ++r_.sent.info;
        ++(copies ? r_.unknown_delivered : r_.unknown_missing);
        break;
      case kFailed:
        ++r_.sent.fail;
        break;
      default:
        break;
    }
  }

  void join_ids() {
    size_t n = h_.ok.size() + h_.info.size() + h_.fail.size() + h_.read.size();
    if (n == 0) return;
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    auto extend = [&](int64_t id) {
      lo = std::min(lo, id);
      hi = std::max(hi, id);
    };
    for (const auto* v : {&h_.ok, &h_.info, &h_.fail})
      for (const auto& s : *v) extend(s.id);
    for (const auto& o : h_.read) extend(o.id);
    if (dense(lo, hi, n))
      join_ids_dense(
          lo, static_cast<size_t>(static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo)) + 1);
    else
      join_ids_sorted();
  }

  // Ids fill a range: a slot per id, no sorting.
  void join_ids_dense(int64_t lo, size_t span) {
    auto slot = [lo](int64_t id) {
      return static_cast<size_t>(static_cast<uint64_t>(id) - static_cast<uint64_t>(lo));
    };
    std::vector<uint8_t> status(span, kNotSent);
    std::vector<uint32_t> where(span);
    std::vector<uint32_t> copies(span, 0);
    // Lower outcomes first, so the best one stays; the first send of an outcome stays.
    for (auto [v, st] :
         {std::pair{&h_.fail, kFailed}, std::pair{&h_.info, kUnknown}, std::pair{&h_.ok, kAcked}}) {
      for (size_t i = 0; i < v->size(); ++i) {
        size_t s = slot((*v)[i].id);
        if (status[s] != kNotSent) ++r_.sent.resent;
        if (st > status[s]) {
          status[s] = st;
          where[s] = static_cast<uint32_t>(i);
        }
      }
    }
    for (size_t pos = 0; pos < h_.read.size(); ++pos) {
      size_t s = slot(h_.read[pos].id);
      ++copies[s];
      on_read(static_cast<uint32_t>(pos), status[s], where[s]);
    }
    for (size_t s = 0; s < span; ++s)
      if (status[s] != kNotSent || copies[s])
        on_id(static_cast<int64_t>(static_cast<uint64_t>(lo) + s), status[s], where[s], copies[s]);
  }

  // Sparse ids: both sides sorted by id, then merged.
  void join_ids_sorted() {
    struct SentRef {
      int64_t id;
      uint32_t where;
      uint8_t status;
    };
    // Filled best outcome first, each in send order: sorted stably by id, an id's first entry
    // is its best outcome's first send.
    std::vector<SentRef> sends;
    sends.reserve(h_.ok.size() + h_.info.size() + h_.fail.size());
    for (auto [v, st] :
         {std::pair{&h_.ok, kAcked}, std::pair{&h_.info, kUnknown}, std::pair{&h_.fail, kFailed}})
      for (size_t i = 0; i < v->size(); ++i)
        sends.push_back({(*v)[i].id, static_cast<uint32_t>(i), st});
    auto by_id = [](const SentRef& a, const SentRef& b) { return a.id < b.id; };
    if (!std::is_sorted(sends.begin(), sends.end(), by_id))
      radix_sort(sends, [](const SentRef& e) { return ordered(e.id); });

    struct ReadRef {
      int64_t id;
      uint32_t pos;
    };
    std::vector<ReadRef> reads(h_.read.size());
    for (size_t i = 0; i < reads.size(); ++i) reads[i] = {h_.read[i].id, static_cast<uint32_t>(i)};
    auto read_by_id = [](const ReadRef& a, const ReadRef& b) { return a.id < b.id; };
    if (!std::is_sorted(reads.begin(), reads.end(), read_by_id))
      radix_sort(reads, [](const ReadRef& e) { return ordered(e.id); });  // ties in read order

    size_t i = 0, j = 0;
    while (i < sends.size() || j < reads.size()) {
      int64_t id = j >= reads.size() || (i < sends.size() && sends[i].id <= reads[j].id)
                       ? sends[i].id
                       : reads[j].id;
      uint8_t st = kNotSent;
      uint32_t where = 0;
      if (i < sends.size() && sends[i].id == id) {
        st = sends[i].status;
        where = sends[i].where;
        size_t k = i + 1;
        while (k < sends.size() && sends[k].id == id) ++k;
        r_.sent.resent += k - i - 1;
        i = k;
      }
      size_t k = j;
      for (; k < reads.size() && reads[k].id == id; ++k) on_read(reads[k].pos, st, where);
      on_id(id, st, where, k - j);
      j = k;
    }
  }

  void duplicate_examples() {
    if (duplicate_ids_.empty()) return;
    auto& ex = r_.duplicated.examples;
    for (int64_t id : duplicate_ids_) ex.push_back({id, 0, 0, 0, {}});
    int64_t lo = duplicate_ids_.front(), hi = duplicate_ids_.back();
    for (size_t pos = 0; pos < h_.read.size(); ++pos) {
      const OutputRecord& o = h_.read[pos];
      if (o.id < lo || o.id > hi) continue;
      auto it = std::lower_bound(duplicate_ids_.begin(), duplicate_ids_.end(), o.id);
      if (it == duplicate_ids_.end() || *it != o.id) continue;
      DuplicateExample& d = ex[static_cast<size_t>(it - duplicate_ids_.begin())];
      if (d.copies++ == 0) d.key = o.key, d.seq = o.seq;
      if (d.positions.size() < kMaxPositions) d.positions.push_back(pos);
    }
  }

  void unexpected_examples() {
    auto& u = r_.unexpected;
    u.count = unexpected_.size();
    for (const auto& x : unexpected_) {
      switch (x.reason) {
        case UnexpectedExample::Reason::never_sent:
          ++u.never_sent;
          break;
        case UnexpectedExample::Reason::send_failed:
          ++u.send_failed;
          break;
        case UnexpectedExample::Reason::fields_differ:
          ++u.fields_differ;
          break;
      }
    }
    size_t k = std::min(max_, unexpected_.size());
    std::partial_sort(unexpected_.begin(), unexpected_.begin() + static_cast<ptrdiff_t>(k),
                      unexpected_.end(), [](const Unexpected& a, const Unexpected& b) {
                        return a.id != b.id ? a.id < b.id : a.pos < b.pos;
                      });
    for (size_t i = 0; i < k; ++i) {
      const Unexpected& x = unexpected_[i];
      const OutputRecord& o = h_.read[x.pos];
      UnexpectedExample e{o.id, o.key, o.seq, x.pos, x.reason};
      if (x.sent) e.sent_key = x.sent->key, e.sent_seq = x.sent->seq;
      u.examples.push_back(e);
    }
    unexpected_ = {};
  }

  // Each output record with the one read before it for its key (kNone: the key's first).
  void on_pair(uint32_t prev, uint32_t pos) {
    const OutputRecord& o = h_.read[pos];
    int64_t count = 1, prev_seq = -1;
    if (prev != kNone) {
      const OutputRecord& p = h_.read[prev];
      if (o.seq <= p.seq) order_.push_back({pos, prev});
      count = plus_one(p.count);
      prev_seq = p.seq;
    }
    if (o.count != count || o.prev_seq != prev_seq) state_.push_back({pos, prev});
  }

  void walk_keys() {
    if (h_.read.empty()) return;
    int64_t lo = h_.read[0].key, hi = lo;
    for (const auto& o : h_.read) {
      lo = std::min(lo, o.key);
      hi = std::max(hi, o.key);
    }
    size_t n = h_.read.size();
    if (dense(lo, hi, n)) {
      // Keys fill a range: the last position read per key, in one pass.
      size_t span = static_cast<size_t>(static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo)) + 1;
      std::vector<uint32_t> last(span, kNone);
      for (size_t pos = 0; pos < n; ++pos) {
        size_t s = static_cast<size_t>(static_cast<uint64_t>(h_.read[pos].key) -
                                       static_cast<uint64_t>(lo));
        on_pair(last[s], static_cast<uint32_t>(pos));
        last[s] = static_cast<uint32_t>(pos);
      }
      return;
    }
    // Sparse keys: the positions grouped by key, each group in read order.
    std::vector<std::pair<int64_t, uint32_t>> by_key(n);
    for (size_t pos = 0; pos < n; ++pos)
      by_key[pos] = {h_.read[pos].key, static_cast<uint32_t>(pos)};
    radix_sort(by_key, [](const auto& e) { return ordered(e.first); });  // ties in read order
    for (size_t i = 0; i < n; ++i) {
      bool first = i == 0 || by_key[i - 1].first != by_key[i].first;
      on_pair(first ? kNone : by_key[i - 1].second, by_key[i].second);
    }
    std::sort(order_.begin(), order_.end());
    std::sort(state_.begin(), state_.end());
  }

  void order_and_state_examples() {
    r_.order.count = order_.size();
    for (size_t i = 0; i < order_.size() && i < max_; ++i) {
      auto [pos, prev] = order_[i];
      const OutputRecord& o = h_.read[pos];
      const OutputRecord& p = h_.read[prev];
      r_.order.examples.push_back({o.key, o.id, o.seq, pos, p.id, p.seq, prev});
    }
    auto& st = r_.state;
    st.count = state_.size();
    for (auto [pos, prev] : state_) {
      const OutputRecord& o = h_.read[pos];
      int64_t count = prev == kNone ? 1 : plus_one(h_.read[prev].count);
      int64_t prev_seq = prev == kNone ? -1 : h_.read[prev].seq;
      st.count_backwards += o.count < count;
      st.count_skips += o.count > count;
      st.wrong_prev_seq += o.prev_seq != prev_seq;
      if (st.examples.size() < max_)
        st.examples.push_back({o.key, o.id, o.seq, pos, count, o.count, prev_seq, o.prev_seq});
    }
    order_ = {};
    state_ = {};
  }

  void verdict() {
    std::string found;
    auto note = [&](uint64_t n, const char* what) {
      if (!n) return;
      if (!found.empty()) found += ", ";
      found += std::to_string(n) + " " + what;
    };
    note(r_.lost.count, "lost");
    note(r_.duplicated.count, "duplicated");
    note(r_.unexpected.count, "unexpected");
    note(r_.order.count, "out of order");
    note(r_.state.count, "with wrong state");
    std::string unreadable = r_.bad_line_count ? std::to_string(r_.bad_line_count) +
                                                     " line(s) of the history could not be read"
                                               : "";
    if (r_.polls_ok == 0) {
      r_.valid = Validity::unknown;
      r_.reason = "no poll completed ok: the output was never read";
      if (r_.polls_failed) r_.reason += " (" + std::to_string(r_.polls_failed) + " failed)";
    } else if (!found.empty()) {
      r_.valid = Validity::invalid;
      r_.reason = "records " + found;
      if (!unreadable.empty()) r_.reason += "; " + unreadable;
    } else if (r_.sent.ok == 0) {
      r_.valid = Validity::unknown;
      r_.reason = "no record was acknowledged: nothing to check";
    } else if (!unreadable.empty()) {
      r_.valid = Validity::unknown;
      r_.reason = unreadable + " (one may have been a send or a poll)";
    } else {
      r_.valid = Validity::valid;
    }
  }

  const ExactlyOnceHistory& h_;
  size_t max_;
  ExactlyOnceResult r_;
  std::vector<int64_t> duplicate_ids_;  // the smallest max_ ids read more than once
  std::vector<Unexpected> unexpected_;
  std::vector<std::pair<uint32_t, uint32_t>> order_;  // (position, previous position for the key)
  std::vector<std::pair<uint32_t, uint32_t>> state_;
};

const char* reason_name(UnexpectedExample::Reason r) {
  switch (r) {
    case UnexpectedExample::Reason::never_sent:
      return "never-sent";
    case UnexpectedExample::Reason::send_failed:
      return "send-failed";
    default:
      return "fields-differ";
  }
}

}  // namespace

// ---- public ------------------------------------------------------------------------------------

ExactlyOnceHistory read_exactly_once_history(const std::string& path) {
  MappedFile file(path);
  std::string_view all = file.view();
  // Large files are parsed in slices on every core, each into its own lists, joined in order.
  std::vector<size_t> cuts = line_slices(all);
  size_t slices = cuts.size() - 1;

  std::vector<Slice> parts(slices);
  std::vector<std::exception_ptr> errors(slices);
  auto run = [&](size_t s) {
    try {
      parse_slice(file, cuts[s], cuts[s + 1], parts[s]);
    } catch (...) {
      errors[s] = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> threads;
    for (size_t s = 1; s < slices; ++s) threads.emplace_back(run, s);
    run(0);
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);

  ExactlyOnceHistory out;
  auto join = [&](auto slice_member, auto& dst) {
    size_t total = 0;
    for (auto& p : parts) total += (p.*slice_member).size();
    dst.reserve(total);
    advise_huge_pages(dst.data(), total * sizeof(dst[0]));
    for (auto& p : parts) (p.*slice_member).move_into(dst);
  };
  {
    // The output records (the largest list) are joined beside the others.
    std::exception_ptr reads_failed;
    {
      std::jthread reads([&] {
        try {
          join(&Slice::read, out.read);
        } catch (...) {
          reads_failed = std::current_exception();
        }
      });
      join(&Slice::ok, out.ok);
      join(&Slice::info, out.info);
      join(&Slice::fail, out.fail);
    }
    if (reads_failed) std::rethrow_exception(reads_failed);
  }
  size_t first_line = 0;
  for (auto& p : parts) {
    out.polls_ok += p.polls_ok;
    out.polls_failed += p.polls_failed;
    out.bad_line_count += p.bad_line_count;
    for (auto& b : p.bad_lines) {
      if (out.bad_lines.size() >= ExactlyOnceHistory::kMaxBadLinesKept) break;
      out.bad_lines.push_back({first_line + b.line, std::move(b.error)});
    }
    first_line += p.lines;
  }
  return out;
}

ExactlyOnceResult check_exactly_once(const ExactlyOnceHistory& history, size_t max_examples) {
  return Checker(history, max_examples).run();
}

ExactlyOnceResult check_exactly_once(const std::string& history_path, size_t max_examples) {
  return check_exactly_once(read_exactly_once_history(history_path), max_examples);
}

json exactly_once_json(const ExactlyOnceResult& r) {
  json j = json::object();
  switch (r.valid) {
    case Validity::valid:
      j["valid"] = true;
      break;
    case Validity::invalid:
      j["valid"] = false;
      break;
    default:
      j["valid"] = "unknown";
  }
  j["reason"] = r.reason.empty() ? json(nullptr) : json(r.reason);
  j["sent"] = {
      {"ok", r.sent.ok}, {"info", r.sent.info}, {"fail", r.sent.fail}, {"resent", r.sent.resent}};
  j["polls"] = {{"ok", r.polls_ok}, {"failed", r.polls_failed}};
  j["read"] = r.read;
  j["distinct_read"] = r.distinct_read;
  j["unknown_delivered"] = r.unknown_delivered;
  j["unknown_missing"] = r.unknown_missing;

  json lost = json::array();
  for (const auto& e : r.lost.examples)
    lost.push_back({{"id", e.id}, {"key", e.key}, {"seq", e.seq}});
  j["lost"] = {{"count", r.lost.count}, {"examples", std::move(lost)}};

  json dup = json::array();
  for (const auto& e : r.duplicated.examples)
    dup.push_back({{"id", e.id},
                   {"copies", e.copies},
                   {"key", e.key},
                   {"seq", e.seq},
                   {"positions", e.positions}});
  j["duplicated"] = {{"count", r.duplicated.count},
                     {"extra_copies", r.duplicated.extra_copies},
                     {"examples", std::move(dup)}};

  json unexpected = json::array();
  for (const auto& e : r.unexpected.examples) {
    json x = {{"id", e.id},
              {"key", e.key},
              {"seq", e.seq},
              {"position", e.position},
              {"reason", reason_name(e.reason)}};
    if (e.reason == UnexpectedExample::Reason::fields_differ)
      x["sent"] = {{"key", e.sent_key}, {"seq", e.sent_seq}};
    unexpected.push_back(std::move(x));
  }
  j["unexpected"] = {{"count", r.unexpected.count},
                     {"never_sent", r.unexpected.never_sent},
                     {"send_failed", r.unexpected.send_failed},
                     {"fields_differ", r.unexpected.fields_differ},
                     {"examples", std::move(unexpected)}};

  json order = json::array();
  for (const auto& e : r.order.examples)
    order.push_back(
        {{"key", e.key},
         {"id", e.id},
         {"seq", e.seq},
         {"position", e.position},
         {"previous",
          {{"id", e.previous_id}, {"seq", e.previous_seq}, {"position", e.previous_position}}}});
  j["order"] = {{"count", r.order.count}, {"examples", std::move(order)}};

  json state = json::array();
  for (const auto& e : r.state.examples) {
    json problems = json::array();
    if (e.found_count < e.expected_count) problems.push_back("count-backwards");
    if (e.found_count > e.expected_count) problems.push_back("count-skips");
    if (e.found_prev_seq != e.expected_prev_seq) problems.push_back("wrong-prev-seq");
    state.push_back(
        {{"key", e.key},
         {"id", e.id},
         {"seq", e.seq},
         {"position", e.position},
         {"problems", std::move(problems)},
         {"count", {{"expected", e.expected_count}, {"found", e.found_count}}},
         {"prev_seq", {{"expected", e.expected_prev_seq}, {"found", e.found_prev_seq}}}});
  }
  j["state"] = {{"count", r.state.count},
                {"count_backwards", r.state.count_backwards},
                {"count_skips", r.state.count_skips},
                {"wrong_prev_seq", r.state.wrong_prev_seq},
                {"examples", std::move(state)}};

  json types = json::object();
  for (auto [name, n] :
       {std::pair{"lost", r.lost.count}, std::pair{"duplicated", r.duplicated.count},
        std::pair{"unexpected", r.unexpected.count}, std::pair{"order", r.order.count},
        std::pair{"state", r.state.count}})
    if (n) types[name] = n;
  j["anomaly_types"] = std::move(types);

  j["bad_line_count"] = r.bad_line_count;
  json bad = json::array();
  for (const auto& b : r.bad_lines) bad.push_back({{"line", b.line}, {"error", b.error}});
  j["bad_lines"] = std::move(bad);
  return j;
}

}  // namespace fj
