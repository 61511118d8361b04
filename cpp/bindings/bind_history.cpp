// Bindings of the history recorder and reader, the HTTP client, the availability poller and the
// checkers (availability, exactly-once). Python values cross as JSON (None, bool, int, float, str,
// list, tuple, dict); everything that waits (I/O, joins, checks) runs with the GIL released.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <unordered_map>

#include "bindings/bindings.hpp"
#include "check/availability.hpp"
#include "check/exactly_once.hpp"
#include "history/history.hpp"
#include "poll/http.hpp"
#include "poll/poller.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

using fj::json;

json to_json(py::handle h, int depth = 0) {
  if (depth > 200) throw py::value_error("value nested too deeply for a history op");
  if (h.is_none()) return nullptr;
  if (PyBool_Check(h.ptr())) return h.ptr() == Py_True;
  if (PyLong_Check(h.ptr())) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
    if (!overflow) return static_cast<int64_t>(v);
    unsigned long long u = PyLong_AsUnsignedLongLong(h.ptr());
    if (PyErr_Occurred()) {
      PyErr_Clear();
      throw py::value_error("integer too large for a history op: " +
                            py::repr(h).cast<std::string>());
    }
    return static_cast<uint64_t>(u);
  }
  if (PyFloat_Check(h.ptr())) return PyFloat_AS_DOUBLE(h.ptr());
  if (PyUnicode_Check(h.ptr())) {
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(h.ptr(), &n);
    if (!s) throw py::error_already_set();
    return std::string(s, static_cast<size_t>(n));
  }
  if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
    json a = json::array();
    auto& arr = a.get_ref<json::array_t&>();
    for (py::handle item : py::reinterpret_borrow<py::sequence>(h))
      arr.push_back(to_json(item, depth + 1));
    return a;
  }
  if (PyDict_Check(h.ptr())) {
    json o = json::object();
    for (auto [k, v] : py::reinterpret_borrow<py::dict>(h)) {
      std::string key;
      if (PyUnicode_Check(k.ptr()))
        key = k.cast<std::string>();
      else if (PyLong_Check(k.ptr()) || PyFloat_Check(k.ptr()) || PyBool_Check(k.ptr()) ||
               k.is_none())
        key = to_json(k).dump();  // as json.dumps does
      else
        throw py::type_error("history op dict keys must be str, got " +
                             py::repr(k).cast<std::string>());
      o[key] = to_json(v, depth + 1);
    }
    return o;
  }
  // numpy and friends: integers through __index__, reals through __float__.
  if (PyIndex_Check(h.ptr()))
    return to_json(py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr())), depth);
  if (PyObject_HasAttrString(h.ptr(), "__float__"))
    return py::float_(py::reinterpret_borrow<py::object>(h)).cast<double>();
  throw py::type_error("cannot record a value of type " +
                       py::str(py::type::of(h).attr("__name__")).cast<std::string>() +
                       " in a history op (JSON values only)");
}

py::object to_py(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return py::none();
    case json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case json::value_t::number_integer:
      return py::int_(j.get<int64_t>());
    case json::value_t::number_unsigned:
      return py::int_(j.get<uint64_t>());
    case json::value_t::number_float:
      return py::float_(j.get<double>());
    case json::value_t::string:
      return py::str(j.get_ref<const std::string&>());
    case json::value_t::array: {
      py::list l(j.size());
      size_t i = 0;
      for (const auto& e : j) l[i++] = to_py(e);
      return l;
    }
    case json::value_t::object: {
      py::dict d;
      for (const auto& [k, v] : j.get_ref<const json::object_t&>()) d[py::str(k)] = to_py(v);
      return d;
    }
    default:
      return py::str(j.dump());
  }
}

py::dict op_to_py(const fj::Op& op) {
  py::dict d;
  d["index"] = op.index;
  d["time"] = op.time;
  d["process"] = to_py(op.process);
  d["type"] = op.type;
  d["f"] = op.f;
  d["value"] = to_py(op.value);
  if (op.extra.is_object())
    for (const auto& [k, v] : op.extra.get_ref<const json::object_t&>()) d[py::str(k)] = to_py(v);
  return d;
}

py::list ops_to_py(const std::vector<fj::Op>& ops) {
  py::list l(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) l[i] = op_to_py(ops[i]);
  return l;
}

py::list errors_to_py(const std::vector<std::pair<size_t, std::string>>& errors) {
  py::list l;
  for (const auto& [line, why] : errors) l.append(py::make_tuple(line, why));
  return l;
}

// A column of texts that repeat (type, f, process): one Python str per distinct text.
py::list interned_column(const std::vector<std::string>& texts) {
  std::unordered_map<std::string, py::str> seen;
  py::list l(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    auto it = seen.find(texts[i]);
    if (it == seen.end()) it = seen.emplace(texts[i], py::str(texts[i])).first;
    l[i] = it->second;
  }
  return l;
}

std::string path_of(py::handle h) {
  return py::str(py::module_::import("os").attr("fspath")(h)).cast<std::string>();
}

std::vector<fj::Op> ops_from_py(py::handle seq) {
  std::vector<fj::Op> ops;
  std::string error;
  size_t i = 0;
  for (py::handle item : py::reinterpret_borrow<py::iterable>(seq)) {
    fj::Op op;
    if (!fj::op_from_json(to_json(item), op, error))
      throw py::value_error("op " + std::to_string(i) + " is not a history op: " + error);
    ops.push_back(std::move(op));
    ++i;
  }
  return ops;
}

}  // namespace

namespace fj::bindings {

void bind_history(py::module_& m) {
  // ---- errors -------------------------------------------------------------------------------
  static PyObject* http_error =
      PyErr_NewException("flink_jepsen._core.HttpError", PyExc_ConnectionError, nullptr);
  m.add_object("HttpError", py::handle(http_error));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const fj::HttpError& e) {
      py::object exc = py::reinterpret_borrow<py::object>(http_error)(e.what());
      exc.attr("endpoint") = e.endpoint();
      exc.attr("reason") = e.reason();
      exc.attr("sent") = e.sent();
      PyErr_SetObject(http_error, exc.ptr());
    }
  });

  // ---- history ------------------------------------------------------------------------------
  py::class_<fj::HistoryRecorder, std::shared_ptr<fj::HistoryRecorder>>(m, "HistoryRecorder")
      .def(py::init<const std::string&, bool, double>(), "path"_a, "keep_in_memory"_a = false,
           "flush_interval"_a = 0.5,
           "Records ops to a JSON Lines file (created or truncated); thread-safe.")
      .def(
          "record",
          [](fj::HistoryRecorder& r, py::handle process, const std::string& type,
             const std::string& f, py::handle value, py::handle extra) {
            json p = to_json(process);
            json v = to_json(value);
            json x = extra.is_none() ? json() : to_json(extra);
            return r.record(std::move(p), type, f, std::move(v), std::move(x));
          },
          "process"_a, "type"_a, "f"_a, "value"_a = py::none(), "extra"_a = py::none(),
          "Records one op (process: int or str; extra: dict of more fields); returns its index.")
      .def("flush", &fj::HistoryRecorder::flush, py::call_guard<py::gil_scoped_release>())
      .def("close", &fj::HistoryRecorder::close, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("closed", &fj::HistoryRecorder::closed)
      .def_property_readonly("path", &fj::HistoryRecorder::path)
      .def_property_readonly("keeps_ops", &fj::HistoryRecorder::keeps_ops)
      .def("now_ns", &fj::HistoryRecorder::now_ns)
      .def("__len__", &fj::HistoryRecorder::size)
      .def(
          "ops", [](const fj::HistoryRecorder& r) { return ops_to_py(r.ops()); },
          "The ops kept in memory, as dicts (empty unless keep_in_memory).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](fj::HistoryRecorder& r, py::args) {
        py::gil_scoped_release release;
        r.close();
      });

  m.def(
      "read_history",
      [](py::handle path) {
        std::string p = path_of(path);
        fj::ReadResult r;
        {
          py::gil_scoped_release release;
          r = fj::read_history(p);
        }
        return py::make_tuple(ops_to_py(r.ops), errors_to_py(r.errors));
      },
      "path"_a, "Reads a history: (ops as dicts, [(line, error) for each unreadable line]).");

  m.def(
      "read_history_columns",
      [](py::handle path, py::object errors) {
        std::string p = path_of(path);
        fj::HistoryColumns c;
        {
          py::gil_scoped_release release;
          c = fj::read_history_columns(p);
        }
        size_t n = c.index.size();
        py::list index(n), time(n), value(n), error(n);
        for (size_t i = 0; i < n; ++i) {
          index[i] = py::int_(c.index[i]);
          time[i] = py::int_(c.time[i]);
          value[i] = py::str(c.value[i]);
          error[i] = c.has_error[i] ? py::object(py::str(c.error[i])) : py::object(py::none());
        }
        if (!errors.is_none())
          for (const auto& [line, why] : c.errors) errors.attr("append")(py::make_tuple(line, why));
        py::dict d;
        d["index"] = index;
        d["time"] = time;
        d["process"] = interned_column(c.process);
        d["type"] = interned_column(c.type);
        d["f"] = interned_column(c.f);
        d["value"] = value;
        d["error"] = error;
        return d;
      },
      "path"_a, "errors"_a = py::none(),
      "Reads a history as columns (index, time, process as str, type, f, value as JSON text, "
      "error or None), for data frames. Unreadable lines are appended to `errors` if given.");

  // ---- HTTP ---------------------------------------------------------------------------------
  py::class_<fj::HttpClient>(m, "HttpClient")
      .def(py::init<std::string, int, double>(), "host"_a, "port"_a, "timeout"_a = 2.0)
      .def(
          "request",
          [](fj::HttpClient& c, const std::string& method, const std::string& path,
             const std::string& body, const std::string& content_type) {
            fj::HttpResponse r;
            {
              py::gil_scoped_release release;
              r = c.request(method, path, body, content_type);
            }
            py::object text = py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
                r.body.data(), static_cast<Py_ssize_t>(r.body.size()), "replace"));
            return py::make_tuple(r.status, text, r.headers);
          },
          "method"_a, "path"_a, "body"_a = "", "content_type"_a = "",
          "One request on the kept connection: (status, body, headers with lower-case names). "
          "Raises HttpError (a ConnectionError) when there is no answer.")
      .def_property("timeout", &fj::HttpClient::timeout, &fj::HttpClient::set_timeout)
      .def_property_readonly("endpoint", &fj::HttpClient::endpoint)
      .def_property_readonly("connections_opened", &fj::HttpClient::connections_opened)
      .def("disconnect", &fj::HttpClient::disconnect);

  // ---- poller -------------------------------------------------------------------------------
  py::class_<fj::AvailabilityPoller, std::shared_ptr<fj::AvailabilityPoller>>(m,
                                                                              "AvailabilityPoller")
      .def(py::init<std::shared_ptr<fj::HistoryRecorder>, std::vector<std::string>, double,
                    double>(),
           "recorder"_a, "endpoints"_a, "interval"_a = 0.1, "timeout"_a = 2.0)
      .def("start", &fj::AvailabilityPoller::start, py::call_guard<py::gil_scoped_release>())
      .def("stop", &fj::AvailabilityPoller::stop, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("running", &fj::AvailabilityPoller::running)
      .def("add_job", &fj::AvailabilityPoller::add_job, "job_id"_a,
           py::call_guard<py::gil_scoped_release>())
      .def("remove_job", &fj::AvailabilityPoller::remove_job, "job_id"_a,
           py::call_guard<py::gil_scoped_release>())
      .def("jobs", &fj::AvailabilityPoller::jobs)
      .def("process_of", &fj::AvailabilityPoller::process_of, "job_id"_a)
      .def("set_endpoints", &fj::AvailabilityPoller::set_endpoints, "endpoints"_a)
      .def("set_preferred", &fj::AvailabilityPoller::set_preferred, "endpoint"_a)
      .def("set_interval", &fj::AvailabilityPoller::set_interval, "seconds"_a)
      .def("set_timeout", &fj::AvailabilityPoller::set_timeout, "seconds"_a)
      .def(
          "cancel_job",
          [](fj::AvailabilityPoller& p, const std::string& id) {
            json r;
            {
              py::gil_scoped_release release;
              r = p.cancel_job(id);
            }
            return to_py(r);
          },
          "job_id"_a,
          "Cancels a job through the REST API, recorded as cancel-job; returns the "
          "completion op as a dict.")
      .def("last_state", [](const fj::AvailabilityPoller& p) { return to_py(p.last_state()); });

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
}

}  // namespace fj::bindings
