// The availability poller: asks Flink's REST API whether each job is running, many times a
// second, and records every ask as an invoke/completion pair (f "job-running?"). One thread per
// job, so a job whose answers are slow never delays another's polls.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "history/history.hpp"

namespace fj {

/// What one GET /jobs/<id> answer says (running: the job RUNNING, every vertex RUNNING and
/// every subtask RUNNING; a 404 is the answer "NOT_FOUND", not running).
struct JobStatus {
  std::string state;
  bool running = false;
  int64_t vertices = 0;
  int64_t vertices_running = 0;
  int64_t tasks_running = 0;
  int64_t parallelism_total = 0;
};
/// Reads Flink's job details; false with `error` set when it is not one.
bool parse_job_status(const std::string& body, JobStatus& out, std::string& error);

/// "host:port" from "host:port", "http://host:port[/]" or "[v6]:port"; throws
/// std::invalid_argument otherwise.
std::string normalize_endpoint(const std::string& endpoint);

class AvailabilityPoller {
 public:
  /// endpoints: the JobManagers' REST servers ("host:port"), tried in turn after a failed poll.
  AvailabilityPoller(std::shared_ptr<HistoryRecorder> recorder, std::vector<std::string> endpoints,
                     double interval_s = 0.1, double timeout_s = 2.0);
  ~AvailabilityPoller();
  AvailabilityPoller(const AvailabilityPoller&) = delete;
  AvailabilityPoller& operator=(const AvailabilityPoller&) = delete;

  /// Starts polling every job added (now or later); stop() ends and joins every thread.
  void start();
  void stop();
  bool running() const;

  /// Adds a job; its process number is fixed at first sight (0, 1, ... in order) and kept if the
  /// job is removed and added again.
  void add_job(const std::string& id);
  /// Stops polling a job (waits for its poll in flight).
  void remove_job(const std::string& id);
  std::vector<std::string> jobs() const;
  /// The process number of a job (assigned if the job is new).
  int process_of(const std::string& id);

  void set_endpoints(std::vector<std::string> endpoints);
  /// The leader's REST endpoint: polled first from the next tick on ("" clears it).
  void set_preferred(const std::string& endpoint);
  void set_interval(double seconds);
  void set_timeout(double seconds);

  /// PATCH /jobs/<id>?mode=cancel through the job's current endpoint, recorded as a "cancel-job"
  /// invoke and its completion (ok on 2xx, and on 404 as the original had it: the job is gone;
  /// fail when refused or answered otherwise, info when it may have reached Flink without an
  /// answer). One attempt: the caller retries. Returns the completion op as JSON.
  json cancel_job(const std::string& id);

  /// Per job: process, active, running (null before the first ok poll), state, last_ok_s,
  /// last_poll_s, polls, failed_polls, last_error, endpoint.
  json last_state() const;

 private:
  struct Job;
  std::shared_ptr<Job> job_locked(const std::string& id);
  void spawn_locked(const std::shared_ptr<Job>& job);
  void run(std::shared_ptr<Job> job, uint64_t generation);
  void poll_once(Job& job);
  std::vector<std::string> candidates_locked() const;
  std::string current_endpoint(Job& job);

  std::shared_ptr<HistoryRecorder> recorder_;
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable wake_;
  std::vector<std::string> endpoints_;
  std::string preferred_;
  uint64_t endpoints_version_ = 0;
  double interval_s_;
  double timeout_s_;
  bool started_ = false;
  int next_process_ = 0;
  std::map<std::string, std::shared_ptr<Job>> jobs_;  // every job ever seen, active or not
};

}  // namespace fj
