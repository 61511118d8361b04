// The Kafka producer without brokers: its configuration errors, librdkafka's delivery reports
// mapped to outcomes, and the history ops a batch's outcomes become. The producer against real
// brokers is tests/test_kafka_producer.py.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "history/history.hpp"
#include "kafka/producer.hpp"
#include "kafka/send_batch.hpp"

namespace {

using fj::json;
using fj::kafka::Outcome;
using fj::kafka::ProducerConfig;
using fj::kafka::Record;
using fj::kafka::SendBatch;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("fj_kafka_" + std::to_string(::getpid()) + "_" + name + ".jsonl"))
      .string();
}

// A recorder that keeps its ops, on a file removed afterwards.
struct Recorded {
  explicit Recorded(const std::string& name)
      : path(temp_path(name)), history(std::make_shared<fj::HistoryRecorder>(path, true)) {}
  ~Recorded() {
    history->close();
    std::filesystem::remove(path);
  }
  std::string path;
  std::shared_ptr<fj::HistoryRecorder> history;
};

std::vector<Record> records(int64_t first, int64_t n) {
  std::vector<Record> r;
  for (int64_t i = first; i < first + n; ++i) r.push_back({i, i % 4, i / 4});
  return r;
}

json triples(std::initializer_list<int64_t> ids) {
  json v = json::array();
  for (int64_t i : ids) v.push_back(json::array({i, i % 4, i / 4}));
  return v;
}

ProducerConfig good_config() {
  ProducerConfig c;
  c.bootstrap = "127.0.0.1:1";  // nothing listens: nothing here connects
  c.topic = "fj-input";
  return c;
}

std::string config_error(const ProducerConfig& c) {
  try {
    fj::kafka::validate(c);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(KafkaOutcome, MapsDeliveryReportsToHistoryOutcomes) {
  using fj::kafka::outcome_of;
  EXPECT_EQ(outcome_of(RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_MSG_STATUS_PERSISTED), Outcome::acked);
  EXPECT_EQ(outcome_of(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_MSG_STATUS_NOT_PERSISTED),
            Outcome::not_written);
  EXPECT_EQ(outcome_of(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED),
            Outcome::unknown);
  EXPECT_EQ(outcome_of(RD_KAFKA_RESP_ERR__PURGE_INFLIGHT, RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED),
            Outcome::unknown);
  // An error report is never an acknowledgement, even for a persisted message.
  EXPECT_EQ(outcome_of(RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_MSG_STATUS_PERSISTED), Outcome::unknown);
}

TEST(KafkaSendBatch, AllAcknowledgedIsOneOkWithEveryRecord) {
  Recorded r("all_ok");
  SendBatch b(1000, records(10, 3));
  r.history->record(b.process(), "invoke", "send", b.invoke_value());
  EXPECT_FALSE(b.report(12, Outcome::acked, ""));
  EXPECT_FALSE(b.report(10, Outcome::acked, ""));
  EXPECT_FALSE(b.close());
  EXPECT_TRUE(b.report(11, Outcome::acked, ""));
  auto n = b.complete(*r.history);
  EXPECT_EQ(n.acked, 3);
  EXPECT_EQ(n.not_written + n.unknown, 0);
  auto ops = r.history->ops();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].type, "invoke");
  EXPECT_EQ(ops[0].value, triples({10, 11, 12}));
  EXPECT_EQ(ops[1].type, "ok");
  EXPECT_EQ(ops[1].f, "send");
  EXPECT_EQ(ops[1].process, 1000);
  EXPECT_EQ(ops[1].value, triples({10, 11, 12}));
  EXPECT_TRUE(ops[1].extra.is_null());
}

TEST(KafkaSendBatch, MixedOutcomesEachGetTheirOwnCompletion) {
  Recorded r("mixed");
  SendBatch b(1001, records(0, 5));
  r.history->record(b.process(), "invoke", "send", b.invoke_value());
  b.report(0, Outcome::acked, "");
  b.report(1, Outcome::not_written, "Broker: Message size too large");
  b.report(2, Outcome::unknown, "Local: Message timed out");
  b.report(3, Outcome::acked, "");
  b.report(3, Outcome::not_written, "a second report is ignored");
  ASSERT_TRUE(b.report(4, Outcome::unknown, "Local: Purged in flight") || b.close());
  ASSERT_TRUE(b.settled());
  auto n = b.complete(*r.history);
  EXPECT_EQ(n.acked, 2);
  EXPECT_EQ(n.not_written, 1);
  EXPECT_EQ(n.unknown, 2);
  auto ops = r.history->ops();
  std::vector<std::string> types;
  for (const auto& o : ops) {
    types.push_back(o.type);
    EXPECT_EQ(o.process, 1001);
    EXPECT_EQ(o.f, "send");
  }
  EXPECT_EQ(types, (std::vector<std::string>{"invoke", "ok", "invoke", "fail", "invoke", "info"}));
  EXPECT_EQ(ops[1].value, triples({0, 3}));
  EXPECT_EQ(ops[2].value, triples({1}));
  EXPECT_EQ(ops[3].value, triples({1}));
  EXPECT_EQ(ops[3].error(), "Broker: Message size too large");
  EXPECT_EQ(ops[5].value, triples({2, 4}));
  EXPECT_EQ(ops[5].error(), "Local: Message timed out");
}

TEST(KafkaSendBatch, NothingAcknowledgedCompletesTheBatchInvokeDirectly) {
  Recorded r("none_ok");
  SendBatch b(1002, records(7, 2));
  r.history->record(b.process(), "invoke", "send", b.invoke_value());
  b.report(7, Outcome::unknown, "Local: Message timed out");
  b.close();
  EXPECT_FALSE(b.settled());
  EXPECT_THROW(b.complete(*r.history), std::logic_error);
  b.give_up("no delivery report");
  auto n = b.complete(*r.history);
  EXPECT_EQ(n.unknown, 2);
  auto ops = r.history->ops();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[1].type, "info");
  EXPECT_EQ(ops[1].value, triples({7, 8}));
  EXPECT_EQ(ops[1].error(), "Local: Message timed out");
}

TEST(KafkaSendBatch, EveryRecordOfABatchIsInExactlyOneCompletion) {
  Recorded r("every");
  SendBatch b(1003, records(100, 50));
  r.history->record(b.process(), "invoke", "send", b.invoke_value());
  for (int64_t id = 100; id < 150; ++id)
    b.report(id,
             id % 3 == 0   ? Outcome::acked
             : id % 3 == 1 ? Outcome::unknown
                           : Outcome::not_written,
             "e");
  ASSERT_TRUE(b.close());
  b.complete(*r.history);
  std::vector<int> seen(50, 0);
  for (const auto& o : r.history->ops())
    if (o.type != "invoke")
      for (const auto& rec : o.value) ++seen[static_cast<size_t>(rec[0].get<int64_t>() - 100)];
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], 1) << "record " << 100 + i;
}

TEST(KafkaSendBatch, RefusesReportsOfRecordsNotInIt) {
  SendBatch b(1000, records(10, 2));
  EXPECT_THROW(b.report(9, Outcome::acked, ""), std::out_of_range);
  EXPECT_THROW(b.report(12, Outcome::acked, ""), std::out_of_range);
  EXPECT_THROW(b.report(10, Outcome::pending, ""), std::invalid_argument);
  EXPECT_THROW(SendBatch(1000, std::vector<Record>{{1, 0, 0}, {3, 0, 0}}), std::invalid_argument);
}

TEST(KafkaProducerConfig, NamesWhatIsWrong) {
  EXPECT_EQ(config_error(good_config()), "");
  auto with = [](auto change) {
    ProducerConfig c = good_config();
    change(c);
    return config_error(c);
  };
  EXPECT_NE(with([](auto& c) { c.bootstrap = ""; }).find("bootstrap servers are empty"),
            std::string::npos);
  EXPECT_NE(with([](auto& c) { c.bootstrap = "a:1,,b:2"; }).find("bootstrap server ''"),
            std::string::npos);
  EXPECT_NE(with([](auto& c) { c.topic = "in put"; }).find("topic 'in put' has ' '"),
            std::string::npos);
  EXPECT_NE(with([](auto& c) { c.topic = ""; }).find("topic ''"), std::string::npos);
  EXPECT_NE(with([](auto& c) { c.keys = 0; }).find("keys must be at least 1, got 0"),
            std::string::npos);
  EXPECT_NE(with([](auto& c) { c.rate = 0; }).find("rate must be a positive"), std::string::npos);
  EXPECT_NE(with([](auto& c) { c.rate = -5; }).find("rate"), std::string::npos);
  EXPECT_NE(with([](auto& c) { c.delivery_timeout_s = 0; }).find("delivery timeout"),
            std::string::npos);
  EXPECT_NE(with([](auto& c) { c.properties["acks"] = "1"; }).find("property 'acks'"),
            std::string::npos);
  EXPECT_NE(with([](auto& c) {
              c.properties["enable.idempotence"] = "false";
            }).find("property 'enable.idempotence'"),
            std::string::npos);
}

TEST(KafkaProducerConfig, LibrdkafkasRefusalNamesTheProperty) {
  Recorded r("conf");
  ProducerConfig c = good_config();
  c.properties["no.such.property"] = "1";
  try {
    fj::kafka::SequencedProducer p(c, r.history);
    FAIL() << "an unknown property was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'no.such.property'"), std::string::npos) << e.what();
  }
  c.properties = {{"linger.ms", "many"}};
  EXPECT_THROW(fj::kafka::SequencedProducer(c, r.history), std::invalid_argument);
  EXPECT_THROW(fj::kafka::SequencedProducer(good_config(), nullptr), std::invalid_argument);
}

// Without a broker nothing is acknowledged: stopping after the delivery timeout leaves every
// record sent in exactly one completion, none of them ok.
TEST(KafkaProducer, WithoutBrokersEveryRecordSentEndsUnacknowledgedInTheHistory) {
  Recorded r("no_broker");
  ProducerConfig c = good_config();
  c.rate = 2000;
  c.delivery_timeout_s = 0.5;
  fj::kafka::SequencedProducer p(c, r.history);
  p.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  p.stop();
  p.stop();  // idempotent
  EXPECT_GT(p.sent(), 100);
  EXPECT_EQ(p.acked(), 0);
  EXPECT_EQ(p.not_written() + p.unknown(), p.sent());
  EXPECT_EQ(p.error(), "");
  int64_t invoked = 0, completed = 0;
  for (const auto& o : r.history->ops()) {
    EXPECT_NE(o.type, "ok");
    if (o.type == "invoke") invoked += static_cast<int64_t>(o.value.size());
    if (o.type == "fail" || o.type == "info") completed += static_cast<int64_t>(o.value.size());
  }
  EXPECT_EQ(completed, p.sent());
  EXPECT_GE(invoked, p.sent());  // a batch whose records ended two ways has two invokes
  EXPECT_THROW(p.start(), std::logic_error);
}
