#include "kafka/send_batch.hpp"

#include <stdexcept>
#include <utility>

namespace fj::kafka {

namespace {

json records_value(const std::vector<Record>& records, const std::vector<Outcome>& outcomes,
                   Outcome only) {
  json v = json::array();
  auto& arr = v.get_ref<json::array_t&>();
  for (size_t i = 0; i < records.size(); ++i)
    if (outcomes.empty() || outcomes[i] == only)
      arr.push_back(json::array({records[i].id, records[i].key, records[i].seq}));
  return v;
}

}  // namespace

Outcome outcome_of(rd_kafka_resp_err_t err, rd_kafka_msg_status_t status) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Outcome::acked;
  // An error with the message persisted is not an acknowledgement either: unknown.
  return status == RD_KAFKA_MSG_STATUS_NOT_PERSISTED ? Outcome::not_written : Outcome::unknown;
}

SendBatch::SendBatch(int64_t process, std::vector<Record> records)
    : process_(process), records_(std::move(records)), outcomes_(records_.size()) {
  for (size_t i = 1; i < records_.size(); ++i)
    if (records_[i].id != records_[0].id + static_cast<int64_t>(i))
      throw std::invalid_argument("a send batch's record ids must be consecutive");
}

json SendBatch::invoke_value() const { return records_value(records_, {}, Outcome::pending); }

bool SendBatch::report(int64_t id, Outcome outcome, std::string_view error) {
  int64_t first = records_.empty() ? 0 : records_[0].id;
  if (records_.empty() || id < first || id - first >= static_cast<int64_t>(records_.size()))
    throw std::out_of_range("delivery report for record " + std::to_string(id) +
                            ", which is not in the batch");
  if (outcome == Outcome::pending)
    throw std::invalid_argument("a delivery report must say acked, not written or unknown");
  Outcome& o = outcomes_[static_cast<size_t>(id - first)];
  if (o != Outcome::pending) return settled();
  o = outcome;
  ++reported_;
  std::string& first_error = outcome == Outcome::not_written ? not_written_error_ : unknown_error_;
  if (outcome != Outcome::acked && first_error.empty()) first_error = error;
  return settled();
}

bool SendBatch::close() {
  closed_ = true;
  return settled();
}

void SendBatch::give_up(std::string_view why) {
  closed_ = true;
  for (auto& o : outcomes_) {
    if (o != Outcome::pending) continue;
    o = Outcome::unknown;
    ++reported_;
    if (unknown_error_.empty()) unknown_error_ = why;
  }
}

OutcomeCounts SendBatch::complete(HistoryRecorder& history) const {
  if (!settled()) throw std::logic_error("a send batch is completed before every record's report");
  OutcomeCounts n;
  for (Outcome o : outcomes_) {
    n.acked += o == Outcome::acked;
    n.not_written += o == Outcome::not_written;
    n.unknown += o == Outcome::unknown;
  }
  // The batch's invoke is open until its first completion; later ones open their own.
  bool invoke_open = true;
  auto complete_with = [&](Outcome which, const char* type, const std::string& error) {
    json records = records_value(records_, outcomes_, which);
    if (!invoke_open) history.record(process_, "invoke", "send", records);
    invoke_open = false;
    json extra = error.empty() && which == Outcome::acked ? json() : json{{"error", error}};
    history.record(process_, type, "send", std::move(records), std::move(extra));
  };
  if (n.acked) complete_with(Outcome::acked, "ok", "");
  if (n.not_written) complete_with(Outcome::not_written, "fail", not_written_error_);
  if (n.unknown) complete_with(Outcome::unknown, "info", unknown_error_);
  if (invoke_open)  // an empty batch: nothing was sent, nothing can have been written
    history.record(process_, "fail", "send", json::array(), {{"error", "no records"}});
  return n;
}

}  // namespace fj::kafka
