// Bindings of cpp/check: the availability checker (offline and live) and the exactly-once
// checker, the finished-once checker of bounded jobs. Histories come as a file path, a
// HistoryRecorder or a list of op dicts; checks run with the GIL released.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/bindings.hpp"
#include "bindings/convert.hpp"
#include "check/availability.hpp"
#include "check/checkpoints.hpp"
#include "check/exactly_once.hpp"
#include "check/finished_once.hpp"
#include "history/history.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace fj::bindings {

void bind_check(py::module_& m) {
  // ---- checker ------------------------------------------------------------------------------
  auto make_options = [](double grace, double healthy, double cancel_grace,
                         std::vector<std::string> jobs, bool expect_faults) {
    fj::AvailabilityOptions o;
    o.grace_period_s = grace;
    o.healthy_duration_s = healthy;
    o.cancel_grace_s = cancel_grace;
    o.jobs = std::move(jobs);
    o.expect_faults = expect_faults;
    return o;
  };
  m.def(
      "check_availability",
      [make_options](py::handle history, double grace, double healthy, double cancel_grace,
                     std::vector<std::string> jobs, bool expect_faults) {
        fj::AvailabilityOptions o =
            make_options(grace, healthy, cancel_grace, std::move(jobs), expect_faults);
        json r;
        if (py::isinstance<fj::HistoryRecorder>(history)) {
          auto& rec = history.cast<fj::HistoryRecorder&>();
          py::gil_scoped_release release;
          if (rec.keeps_ops()) {
            r = fj::check_availability(rec.ops(), o);
          } else {
            rec.flush();
            r = fj::check_availability_file(rec.path(), o);
          }
        } else if (PyUnicode_Check(history.ptr()) || PyBytes_Check(history.ptr()) ||
                   py::hasattr(history, "__fspath__")) {
          std::string p = path_of(history);
          py::gil_scoped_release release;
          r = fj::check_availability_file(p, o);
        } else {
          std::vector<fj::Op> ops = ops_from_py(history);
          py::gil_scoped_release release;
          r = fj::check_availability(ops, o);
        }
        return to_py(r);
      },
      "history"_a, "grace_period_s"_a = 180.0, "healthy_duration_s"_a = 25.0,
      "cancel_grace_s"_a = 10.0, "jobs"_a = std::vector<std::string>{}, "expect_faults"_a = false,
      "Availability checker. history: a history file path, a HistoryRecorder, or a list of op "
      "dicts; jobs: the ids of the submitted jobs; expect_faults: the schedule was to inject "
      "faults. Returns the result as a dict (valid? is True, False or 'unknown').");

  py::class_<fj::AvailabilityMonitor, std::shared_ptr<fj::AvailabilityMonitor>>(
      m, "AvailabilityMonitor",
      "The availability checker stepped live on every op a recorder records: the stop rule.")
      .def(py::init([make_options](std::shared_ptr<fj::HistoryRecorder> recorder, double grace,
                                   double healthy, double cancel_grace,
                                   std::vector<std::string> jobs, bool expect_faults) {
             auto mon = std::make_shared<fj::AvailabilityMonitor>(
                 make_options(grace, healthy, cancel_grace, std::move(jobs), expect_faults));
             recorder->add_observer(mon);
             return mon;
           }),
           "recorder"_a, "grace_period_s"_a = 180.0, "healthy_duration_s"_a = 25.0,
           "cancel_grace_s"_a = 10.0, "jobs"_a = std::vector<std::string>{},
           "expect_faults"_a = false)
      .def(
          "detach",
          [](std::shared_ptr<fj::AvailabilityMonitor> self,
             std::shared_ptr<fj::HistoryRecorder> recorder) { recorder->remove_observer(self); },
          "recorder"_a)
      .def("observe_from", &fj::AvailabilityMonitor::observe_from, "since_ns"_a,
           "Healthy streaks count only polls invoked at or after since_ns (the heal).")
      .def("wait_settled", &fj::AvailabilityMonitor::wait_settled, "duration_s"_a, "timeout_s"_a,
           py::call_guard<py::gil_scoped_release>(),
           "Waits until every job has been settled for duration_s; False on timeout.")
      .def("settled_s",
           [](const fj::AvailabilityMonitor& m) -> py::object {
             auto s = m.settled_s();
             return s ? py::object(py::float_(*s)) : py::object(py::none());
           })
      .def("result", [](const fj::AvailabilityMonitor& m) { return to_py(m.result()); });

  m.def(
      "check_exactly_once",
      [](py::handle path, size_t max_examples) {
        std::string p = path_of(path);
        json r;
        {
          py::gil_scoped_release release;
          r = fj::check_exactly_once(p, max_examples);
        }
        return to_py(r);
      },
      "path"_a, "max_examples"_a = 5,
      "Exactly-once checker for the Kafka workload: reads a history file (str or path-like) and "
      "returns the result as a dict: valid (True, False or 'unknown'), reason, sent, polls, "
      "read, distinct_read, unknown_delivered, unknown_missing, lost, duplicated, unexpected, "
      "order, state (each with a count and at most max_examples examples), anomaly_types, "
      "bad_line_count, bad_lines. Raises RuntimeError if the file cannot be read.");

  m.def(
      "check_finished_once",
      [](py::handle path, std::vector<std::string> jobs, size_t max_examples, py::handle log_ends) {
        std::string p = path_of(path);
        json ends = log_ends.is_none() ? json() : to_json(log_ends);
        json r;
        {
          py::gil_scoped_release release;
          r = fj::check_finished_once_file(p, jobs, max_examples, ends);
        }
        return to_py(r);
      },
      "path"_a, "jobs"_a, "max_examples"_a = 5, "log_ends"_a = py::none(),
      "Finished-once checker of bounded jobs over a history file: every job reaches FINISHED and "
      "is never seen scheduled or running after a globally terminal state. Returns valid (True, "
      "False or 'unknown'), jobs (per job: polls_ok, terminal_state, first_terminal, ran_again, "
      "last_state, ends_logged), anomalies (ran-after-finished, never-finished, "
      "ended-not-finished, "
      "finished-more-than-once, each with its job and ops), anomaly_types, bad_line_count. "
      "log_ends: {job: [evidence, ...]}, the job's ends as the JobManagers logged them.");

  m.def(
      "check_checkpoints",
      [](py::handle path, std::vector<std::string> jobs, size_t max_examples) {
        std::string p = path_of(path);
        json r;
        {
          py::gil_scoped_release release;
          r = fj::check_checkpoints_file(p, jobs, max_examples);
        }
        return to_py(r);
      },
      "path"_a, "jobs"_a, "max_examples"_a = 5,
      "Checkpoint-continuity checker over a history file: a job's completed checkpoint ids "
      "never go back (the HA store kept them across leaders). Returns valid, jobs (per job: "
      "polls_ok, max_completed, last_completed, last_restored, went_back), anomalies "
      "(checkpoint-ids-went-back with the op of the highest id and the ops below it), "
      "anomaly_types, bad_line_count.");
}

}  // namespace fj::bindings
