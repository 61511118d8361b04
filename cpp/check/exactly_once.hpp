// The exactly-once checker for the Kafka -> Flink -> Kafka workload. The harness sends records
// (unique id, key, per-key seq) to an input topic; the job keeps per-key state (how many records
// it has seen, the last seq) and writes one output record per input through Kafka's
// exactly-once sink; after the test a read_committed consumer drains the output topic.
//
// A history of that workload has millions of records, so reading it does not go through the
// generic JSON parser: a scanner made for the shape of these lines reads the file (in slices, on
// every core) straight into flat vectors, and the check joins them by id with a dense table when
// ids fill a range and by sorting when they do not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "history/history.hpp"

namespace fj {

/// A record the harness produced: unique id, its key, its sequence number within the key.
struct SentRecord {
  int64_t id = 0;
  int64_t key = 0;
  int64_t seq = 0;
};

/// A record the job wrote: the input's id, key and seq, and the job's state for the key after
/// it: how many records it has counted (1, 2, ...) and the seq of the one before (-1: none).
struct OutputRecord {
  int64_t id = 0;
  int64_t key = 0;
  int64_t seq = 0;
  int64_t count = 0;
  int64_t prev_seq = 0;
};

/// A history line the reader could not use, with its 1-based line number.
struct BadLine {
  size_t line = 0;
  std::string error;
};

/// What the checker needs of a history. Only completions matter: the records of each `send`
/// completion by outcome (ok: acknowledged, info: unknown, fail: not written), and the output
/// records of the ok `poll` completions in history (file) order.
struct ExactlyOnceHistory {
  std::vector<SentRecord> ok;
  std::vector<SentRecord> info;
  std::vector<SentRecord> fail;
  std::vector<OutputRecord> read;
  size_t polls_ok = 0;      ///< ok poll completions (an empty one counts: the drain ran)
  size_t polls_failed = 0;  ///< fail or info poll completions
  size_t bad_line_count = 0;
  std::vector<BadLine> bad_lines;  ///< the first kMaxBadLinesKept, in line order

  static constexpr size_t kMaxBadLinesKept = 1000;
};

/// Reads the records of a history.jsonl. Of each line only `f`, `type` and `value` are used, in
/// any order, other fields ignored; invokes are skipped. Lines that are not JSON, not ops (no f
/// or type, an unknown type), or whose send/poll completion value has the wrong shape are
/// counted and kept (the first few) as bad lines, and none of their records is taken; other ops
/// (nemesis, job-running? ...) are ignored. Throws std::runtime_error if the file cannot be read.
ExactlyOnceHistory read_exactly_once_history(const std::string& path);

/// Jepsen's :valid? true, false or :unknown.
enum class Validity { valid, invalid, unknown };

struct LostExample {
  int64_t id, key, seq;
};
struct DuplicateExample {
  int64_t id, key, seq;  ///< key and seq as the first copy has them
  uint64_t copies;
  std::vector<uint64_t> positions;  ///< of the first copies (at most 10)
};
struct UnexpectedExample {
  enum class Reason { never_sent, send_failed, fields_differ };
  int64_t id, key, seq;
  uint64_t position;
  Reason reason;
  int64_t sent_key = 0, sent_seq = 0;  ///< what was sent (fields_differ only)
};
struct OrderExample {
  int64_t key, id, seq;
  uint64_t position;
  int64_t previous_id, previous_seq;
  uint64_t previous_position;
};
struct StateExample {
  int64_t key, id, seq;
  uint64_t position;
  int64_t expected_count, found_count;
  int64_t expected_prev_seq, found_prev_seq;
};

/// The verdict and what it rests on. Positions are 0-based indices of output records in the
/// order they were read (all ok polls, in history order). Examples are capped at max_examples:
/// smallest ids first for lost, duplicated and unexpected; first read first for order and state.
struct ExactlyOnceResult {
  Validity valid = Validity::unknown;
  std::string reason;  ///< why invalid or unknown; empty when valid

  /// Distinct ids by their best outcome (an id sent again after an info or a fail counts once,
  /// as its best outcome: ok > info > fail); resent: send records beyond each id's first.
  struct {
    uint64_t ok = 0, info = 0, fail = 0, resent = 0;
  } sent;
  uint64_t polls_ok = 0, polls_failed = 0;
  uint64_t read = 0;                                    ///< output records read
  uint64_t distinct_read = 0;                           ///< distinct ids among them
  uint64_t unknown_delivered = 0, unknown_missing = 0;  ///< info ids read / never read

  struct {
    uint64_t count = 0;  ///< acknowledged ids never read
    std::vector<LostExample> examples;
  } lost;
  struct {
    uint64_t count = 0;         ///< ids read more than once
    uint64_t extra_copies = 0;  ///< copies beyond the first, over all those ids
    std::vector<DuplicateExample> examples;
  } duplicated;
  struct {
    uint64_t count = 0;  ///< output records (each copy counts)
    uint64_t never_sent = 0, send_failed = 0, fields_differ = 0;
    std::vector<UnexpectedExample> examples;
  } unexpected;
  struct {
    uint64_t count = 0;  ///< records whose seq is not above the previous one read for the key
    std::vector<OrderExample> examples;
  } order;
  struct {
    uint64_t count = 0;  ///< records with a wrong count or prev_seq (one per record)
    uint64_t count_backwards = 0, count_skips = 0, wrong_prev_seq = 0;
    std::vector<StateExample> examples;
  } state;

  uint64_t bad_line_count = 0;
  std::vector<BadLine> bad_lines;  ///< the first max_examples
};

/// The result as JSON: {"valid", "reason", "sent", "polls", "read", "distinct_read",
/// "unknown_delivered", "unknown_missing", "lost", "duplicated", "unexpected", "order", "state",
/// "anomaly_types", "bad_line_count", "bad_lines"}; "valid" is true, false or "unknown", "reason"
/// null when valid. `json j = result;` does the same.
json exactly_once_json(const ExactlyOnceResult& r);

/// Checks records already in memory.
///
/// Semantics (choices the workload leaves open are marked *):
/// - lost: acknowledged (ok) ids never read. Ids sent with outcome info may be read once or not
///   at all; they are counted (unknown_delivered / unknown_missing), never an anomaly by that.
/// - duplicated: ids read more than once.
/// - unexpected: each output record whose id was never sent, was only in failed sends, or whose
///   key or seq differ from what was sent.
/// - order*: per key, in read order, every record whose seq is not greater than that of the
///   record read before it for the key, copies included: a duplicate also shows here, since its
///   seq repeats (duplicates are still reported on their own above).
/// - state*: per key, in read order, every record (copies included) whose count is not the
///   previous record's count + 1 or whose prev_seq is not the previous record's seq (first for
///   a key: count 1, prev_seq -1). Each record is compared with the one read just before it,
///   so a count reset or a gap is reported once, where it happens, not for every later record.
/// Validity*: unknown when no poll completed ok (the output was never read); otherwise invalid
/// when any anomaly was found; otherwise unknown when no record was acknowledged (nothing to
/// check) or when lines of the history could not be read (one may have been an ok send or a
/// poll); otherwise valid.
ExactlyOnceResult check_exactly_once(const ExactlyOnceHistory& history, size_t max_examples = 5);

/// Reads the history file (read_exactly_once_history) and checks it.
ExactlyOnceResult check_exactly_once(const std::string& history_path, size_t max_examples = 5);

}  // namespace fj

// Through nlohmann's serializer rather than a free fj::to_json, which would hide other to_json
// helpers from unqualified calls inside namespace fj.
template <>
struct nlohmann::adl_serializer<fj::ExactlyOnceResult> {
  static void to_json(fj::json& j, const fj::ExactlyOnceResult& r) { j = fj::exactly_once_json(r); }
};
