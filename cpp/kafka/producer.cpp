#include "kafka/producer.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "common/log.hpp"

namespace fj::kafka {

namespace {

using Clock = std::chrono::steady_clock;

// What the workload's guarantees rest on; a property that changed them would make its history
// say something else than the checker assumes.
constexpr const char* kFixedProperties[] = {"enable.idempotence", "acks", "bootstrap.servers",
                                            "message.timeout.ms", "delivery.timeout.ms"};

bool topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

void set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::invalid_argument("librdkafka refused property '" + name + "' = '" + value +
                                "': " + err);
}

// librdkafka logs every broker disconnect; during a fault that is noise, not news: its errors go
// to the run's log file (debug), not the console.
void log_to_run(const rd_kafka_t*, int, const char* facility, const char* message) {
  fj::log::write("debug", "kafka.librdkafka", std::string(facility) + ": " + message);
}

void on_delivery_report(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  static_cast<SequencedProducer*>(opaque)->on_delivery(*message);
}

int64_t id_of(const rd_kafka_message_t& m) {
  const char* p = static_cast<const char*>(m.payload);
  int64_t id = -1;
  if (p == nullptr || std::from_chars(p, p + m.len, id).ec != std::errc())
    throw std::runtime_error("a delivery report for a message that is not the producer's");
  return id;
}

}  // namespace

void validate(const ProducerConfig& c) {
  auto bad = [](const std::string& what) {
    throw std::invalid_argument("Kafka producer: " + what);
  };
  if (c.bootstrap.empty()) bad("bootstrap servers are empty");
  size_t start = 0;
  for (;;) {
    size_t comma = c.bootstrap.find(',', start);
    std::string entry =
        c.bootstrap.substr(start, comma == std::string::npos ? comma : comma - start);
    if (entry.empty() || entry.find_first_of(" \t\n") != std::string::npos)
      bad("bootstrap server '" + entry + "' in '" + c.bootstrap + "' is not host:port");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (c.topic.empty() || c.topic.size() > 249 || c.topic == "." || c.topic == "..")
    bad("topic '" + c.topic + "' is not a Kafka topic name (1 to 249 characters)");
  for (char ch : c.topic)
    if (!topic_char(ch))
      bad("topic '" + c.topic + "' has '" + std::string(1, ch) +
          "' (a Kafka topic name is letters, digits, '.', '_' and '-')");
  if (c.keys < 1) bad("keys must be at least 1, got " + std::to_string(c.keys));
  if (!(c.rate > 0) || !std::isfinite(c.rate))
    bad("rate must be a positive number of records per second, got " + std::to_string(c.rate));
  if (!(c.delivery_timeout_s >= 0.001) || c.delivery_timeout_s > 86400)
    bad("delivery timeout must be between 1 ms and a day, got " +
        std::to_string(c.delivery_timeout_s) + " s");
  if (c.batch_records < 1) bad("batch_records must be at least 1");
  if (!(c.batch_seconds > 0) || !std::isfinite(c.batch_seconds))
    bad("batch_seconds must be positive, got " + std::to_string(c.batch_seconds));
  for (const auto& [name, value] : c.properties)
    for (const char* fixed : kFixedProperties)
      if (name == fixed)
        bad("property '" + name +
            "' is the producer's own (idempotent, acks=all, the "
            "bootstrap and delivery timeout given): it cannot be set");
}

SequencedProducer::SequencedProducer(ProducerConfig config,
                                     std::shared_ptr<HistoryRecorder> history)
    : config_(std::move(config)), history_(std::move(history)) {
  validate(config_);
  if (!history_) throw std::invalid_argument("Kafka producer: no history to record into");
  seqs_.assign(static_cast<size_t>(config_.keys), 0);
  Conf conf(rd_kafka_conf_new());
  set(conf.get(), "bootstrap.servers", config_.bootstrap);
  set(conf.get(), "enable.idempotence", "true");
  set(conf.get(), "acks", "all");
  set(conf.get(), "linger.ms", "5");
  set(conf.get(), "log_level", "3");
  set(conf.get(), "message.timeout.ms",
      std::to_string(std::llround(config_.delivery_timeout_s * 1000)));
  for (const auto& [name, value] : config_.properties) set(conf.get(), name, value);
  rd_kafka_conf_set_log_cb(conf.get(), log_to_run);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery_report);
  rd_kafka_conf_set_opaque(conf.get(), this);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
  if (rk == nullptr) throw std::invalid_argument(std::string("Kafka producer: ") + err);
  (void)conf.release();  // rd_kafka_new took it
  rk_.reset(rk);
  topic_.reset(rd_kafka_topic_new(rk_.get(), config_.topic.c_str(), nullptr));
  if (!topic_)
    throw std::invalid_argument("Kafka producer: topic '" + config_.topic +
                                "': " + rd_kafka_err2str(rd_kafka_last_error()));
}

SequencedProducer::~SequencedProducer() {
  try {
    stop();
  } catch (const std::exception& e) {
    spdlog::error("Kafka producer: stopping failed: {}", e.what());
  }
}

void SequencedProducer::start() {
  if (started_.exchange(true)) throw std::logic_error("the Kafka producer was started before");
  poller_ = std::thread([this] { poll_loop(); });
  producer_ = std::thread([this] { produce_loop(); });
}

std::string SequencedProducer::error() const {
  std::lock_guard lk(mu_);
  return error_;
}

int64_t SequencedProducer::take_process() {
  std::lock_guard lk(mu_);
  if (!free_processes_.empty()) {
    int64_t p = free_processes_.back();
    free_processes_.pop_back();
    return p;
  }
  return kProducerProcessBase + processes_++;
}

void SequencedProducer::poll_loop() {
  while (!stop_polling_.load()) rd_kafka_poll(rk_.get(), 50);
}

void SequencedProducer::produce_loop() {
  try {
    const auto started = Clock::now();
    const auto batch_span = std::chrono::duration<double>(config_.batch_seconds);
    const auto idle = std::chrono::duration<double>(std::min(0.005, 1.0 / config_.rate));
    std::vector<Record> pending;
    while (!stop_.load()) {
      pending.clear();
      pending.reserve(config_.batch_records);
      const auto opened = Clock::now();
      while (pending.size() < config_.batch_records && Clock::now() - opened < batch_span &&
             !stop_.load()) {
        double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
        int64_t due = static_cast<int64_t>(elapsed * config_.rate) - next_id_;
        int64_t room = static_cast<int64_t>(config_.batch_records - pending.size());
        for (int64_t i = 0; i < std::min(due, room); ++i) {
          int64_t key = next_id_ % config_.keys;
          pending.push_back({next_id_, key, seqs_[static_cast<size_t>(key)]++});
          ++next_id_;
        }
        if (due <= 0) std::this_thread::sleep_for(idle);
      }
      if (pending.empty()) continue;  // stopped before anything was due: no op at all
      int64_t process = take_process();
      auto owned = std::make_unique<SendBatch>(process, std::move(pending));
      pending = {};
      SendBatch* batch = owned.get();
      history_->record(process, "invoke", "send", batch->invoke_value());
      {
        std::lock_guard lk(mu_);
        open_.emplace(batch, std::move(owned));
      }
      for (const Record& r : batch->records()) send(*batch, r);
      sent_ += static_cast<int64_t>(batch->records().size());
      std::unique_ptr<SendBatch> done;
      {
        std::lock_guard lk(mu_);
        if (batch->close()) done = std::move(open_.extract(batch).mapped());
      }
      if (done) complete(std::move(done));
    }
  } catch (const std::exception& e) {
    spdlog::error("Kafka producer: {}", e.what());
    std::lock_guard lk(mu_);
    if (error_.empty()) error_ = e.what();
  }
}

void SequencedProducer::send(SendBatch& batch, const Record& r) {
  char value[72], key[24];
  // Each number is written short of its buffer's end, so the separator after it always fits.
  const auto put = [](char* at, char* end, auto n) {
    auto [p, ec] = std::to_chars(at, end, n);
    if (ec != std::errc{} || p >= end) throw std::length_error("Kafka record field too long");
    return p;
  };
  char* const value_end = value + sizeof value - 1;
  char* v = put(value, value_end, r.id);
  *v++ = ',';
  v = put(v, value_end, r.key);
  *v++ = ',';
  v = put(v, value_end, r.seq);
  char* k = put(key, key + sizeof key - 1, r.key);
  for (;;) {
    if (rd_kafka_produce(topic_.get(), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value,
                         static_cast<size_t>(v - value), key, static_cast<size_t>(k - key),
                         &batch) == 0)
      return;
    rd_kafka_resp_err_t err = rd_kafka_last_error();
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {  // the client's queue is full: let it deliver
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    std::lock_guard lk(mu_);  // refused before it was queued: never written
    batch.report(r.id, Outcome::not_written, rd_kafka_err2str(err));
    return;
  }
}

void SequencedProducer::on_delivery(const rd_kafka_message_t& m) {
  try {
    auto* batch = static_cast<SendBatch*>(m._private);
    Outcome outcome = outcome_of(m.err, rd_kafka_message_status(&m));
    int64_t id = id_of(m);
    std::unique_ptr<SendBatch> done;
    {
      std::lock_guard lk(mu_);
      if (batch->report(id, outcome, outcome == Outcome::acked ? "" : rd_kafka_err2str(m.err)))
        done = std::move(open_.extract(batch).mapped());
    }
    if (done) complete(std::move(done));
  } catch (const std::exception& e) {
    spdlog::error("Kafka producer: delivery report: {}", e.what());
    std::lock_guard lk(mu_);
    if (error_.empty()) error_ = std::string("delivery report: ") + e.what();
  }
}

void SequencedProducer::complete(std::unique_ptr<SendBatch> batch) {
  OutcomeCounts n = batch->complete(*history_);
  acked_ += n.acked;
  not_written_ += n.not_written;
  unknown_ += n.unknown;
  std::lock_guard lk(mu_);
  free_processes_.push_back(batch->process());
}

void SequencedProducer::stop() {
  std::lock_guard stopping(stop_mu_);
  if (stopped_.load()) return;
  stop_ = true;
  if (producer_.joinable()) producer_.join();
  if (started_.load()) {
    auto waited_until = [&](Clock::time_point deadline) {
      while (rd_kafka_outq_len(rk_.get()) > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return rd_kafka_outq_len(rk_.get()) == 0;
    };
    auto timeout = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(config_.delivery_timeout_s + 5));
    if (!waited_until(Clock::now() + timeout)) {
      // What is still queued was never sent (fail); what is in flight may have been (info).
      spdlog::warn("Kafka producer: {} messages without a delivery report; purging them",
                   rd_kafka_outq_len(rk_.get()));
      rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      waited_until(Clock::now() + std::chrono::seconds(5));
    }
  }
  stop_polling_ = true;
  if (poller_.joinable()) poller_.join();
  if (started_.load()) rd_kafka_poll(rk_.get(), 0);  // reports that came after the last poll
  std::vector<std::unique_ptr<SendBatch>> left;
  {
    std::lock_guard lk(mu_);
    for (auto& [ptr, batch] : open_) left.push_back(std::move(batch));
    open_.clear();
  }
  for (auto& b : left) {
    b->give_up("no delivery report");
    complete(std::move(b));
  }
  stopped_ = true;
  spdlog::info("Kafka producer: {} records sent, {} acknowledged, {} not written, {} unknown",
               sent(), acked(), not_written(), unknown());
}

}  // namespace fj::kafka
