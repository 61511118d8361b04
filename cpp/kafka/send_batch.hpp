// What the exactly-once workload's producer says in the history, apart from Kafka: the records of
// one batch, each one's delivery outcome as librdkafka reports it, and the completion ops that
// close the batch's invoke. Kept free of a live client so the mapping can be tested without
// brokers; producer.cpp only feeds it delivery reports.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "history/history.hpp"

namespace fj::kafka {

/// One input record: unique id, its key, its sequence number within the key.
struct Record {
  int64_t id = 0;
  int64_t key = 0;
  int64_t seq = 0;
};

/// What the history says of a record once its fate is known.
enum class Outcome : uint8_t {
  pending,      ///< no delivery report yet
  acked,        ///< Kafka acknowledged it: `ok`
  not_written,  ///< definitely not in the log: `fail`
  unknown,      ///< may or may not be in the log: `info`
};

/// librdkafka's delivery report of one message -> the record's outcome. An error counts as
/// "not written" only when librdkafka says the message was never persisted; a timeout or a
/// purge of a message in flight may still have reached the log.
Outcome outcome_of(rd_kafka_resp_err_t err, rd_kafka_msg_status_t status);

/// How many records of a batch ended each way.
struct OutcomeCounts {
  int64_t acked = 0;
  int64_t not_written = 0;
  int64_t unknown = 0;
};

/// One batch of records and its history process (Jepsen's rule: one op in flight per process).
/// Not thread-safe: the producer guards it.
class SendBatch {
 public:
  /// The records must have consecutive ids (the producer numbers them so): a delivery report
  /// finds its record by id alone.
  SendBatch(int64_t process, std::vector<Record> records);

  int64_t process() const { return process_; }
  const std::vector<Record>& records() const { return records_; }

  /// The batch's invoke value: every record as [id, key, seq].
  json invoke_value() const;

  /// Sets the outcome of the record with this id (the first report wins; a second is ignored);
  /// `error` is kept for the completion of its outcome. Throws std::out_of_range for an id not
  /// in the batch. Returns settled().
  bool report(int64_t id, Outcome outcome, std::string_view error);
  /// No more reports are expected to arrive before close; returns settled().
  bool close();
  /// Closed, and every record has an outcome.
  bool settled() const { return closed_ && reported_ == records_.size(); }
  /// Every record still without an outcome becomes unknown with `why` (the batch is closed).
  void give_up(std::string_view why);

  /// Records the completion ops of a settled batch, after the invoke that opened it: `ok` with
  /// the acknowledged records, then `fail` (not written) and `info` (unknown) with their
  /// records, each after an invoke of its own when an earlier completion already closed the
  /// batch's invoke. Completions carry the first error seen of their kind. Throws
  /// std::logic_error when the batch is not settled.
  OutcomeCounts complete(HistoryRecorder& history) const;

 private:
  int64_t process_;
  std::vector<Record> records_;
  std::vector<Outcome> outcomes_;
  std::string not_written_error_;
  std::string unknown_error_;
  size_t reported_ = 0;
  bool closed_ = false;
};

}  // namespace fj::kafka
