// The exactly-once workload's producer in the core: sequenced records (unique id, key, per-key
// seq) written at a steady rate by an idempotent acks=all librdkafka producer, every record's
// delivery report served by a poll thread of its own and recorded straight into the history.
// Python's client (workloads/kafka_client.py) does the same through a callback per record, which
// holds the GIL and bounds it to a fraction of what the brokers take.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "history/history.hpp"
#include "kafka/send_batch.hpp"

namespace fj::kafka {

/// History process numbers of the producer's batches: the availability poller numbers its
/// clients from 0, the drain is 999.
constexpr int64_t kProducerProcessBase = 1000;

struct ProducerConfig {
  std::string bootstrap;                          ///< host:port[,host:port...]
  std::string topic;                              ///< the input topic (must exist)
  int64_t keys = 16;                              ///< distinct keys: record i has key i % keys
  double rate = 500;                              ///< records per second asked for
  double delivery_timeout_s = 30;                 ///< librdkafka's message.timeout.ms
  size_t batch_records = 1000;                    ///< records per history op at most
  double batch_seconds = 0.1;                     ///< and a batch is open at most this long
  std::map<std::string, std::string> properties;  ///< more librdkafka properties (tests, tuning)
};

/// Throws std::invalid_argument naming the first thing wrong with `config`.
void validate(const ProducerConfig& config);

/// Writes records to the topic in a thread from start() until stop(); every record ends up in
/// exactly one completion of the history (ok, fail or info). Thread-safe.
class SequencedProducer {
 public:
  /// Creates the librdkafka client (it connects lazily). Throws std::invalid_argument for a bad
  /// configuration, naming the setting (a librdkafka property's error is librdkafka's own).
  SequencedProducer(ProducerConfig config, std::shared_ptr<HistoryRecorder> history);
  ~SequencedProducer();
  SequencedProducer(const SequencedProducer&) = delete;
  SequencedProducer& operator=(const SequencedProducer&) = delete;

  /// Starts producing; throws std::logic_error when started before.
  void start();
  /// Stops producing and waits (at most the delivery timeout and a few seconds) for the reports
  /// of everything sent; what still has none is purged from the client, and a record without a
  /// report even then is recorded as unknown. Idempotent.
  void stop();
  bool stopping() const { return stop_.load(); }

  int64_t sent() const { return sent_.load(); }
  int64_t acked() const { return acked_.load(); }
  int64_t not_written() const { return not_written_.load(); }
  int64_t unknown() const { return unknown_.load(); }
  /// Why the producing thread ended early ("" when it did not).
  std::string error() const;

  /// librdkafka's delivery report callback (its opaque is the producer).
  void on_delivery(const rd_kafka_message_t& message);

 private:
  struct KafkaDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
    void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  };

  void produce_loop();
  void poll_loop();
  int64_t take_process();
  /// Sends one record; a record the client refuses outright is reported as not written.
  void send(SendBatch& batch, const Record& record);
  /// Records a settled batch's completions and gives its process back.
  void complete(std::unique_ptr<SendBatch> batch);
  /// Removes `batch` from the open batches when settled (under mu_) and returns it then.
  std::unique_ptr<SendBatch> take_if_settled(SendBatch* batch);

  ProducerConfig config_;
  std::shared_ptr<HistoryRecorder> history_;
  std::unique_ptr<rd_kafka_t, KafkaDeleter> rk_;
  std::unique_ptr<rd_kafka_topic_t, KafkaDeleter> topic_;

  mutable std::mutex mu_;  // guards the open batches, the free processes and error_
  std::unordered_map<const SendBatch*, std::unique_ptr<SendBatch>> open_;
  std::vector<int64_t> free_processes_;
  int64_t processes_ = 0;
  std::string error_;

  std::atomic<bool> started_{false}, stop_{false}, stopped_{false}, stop_polling_{false};
  std::mutex stop_mu_;  // one stop() at a time
  std::atomic<int64_t> sent_{0}, acked_{0}, not_written_{0}, unknown_{0};
  std::vector<int64_t> seqs_;
  int64_t next_id_ = 0;
  std::thread producer_, poller_;
};

}  // namespace fj::kafka
