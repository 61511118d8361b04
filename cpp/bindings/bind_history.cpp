// Bindings of cpp/history: the recorder and the readers (ops as dicts, or columns for data
// frames). Python values cross as JSON; file I/O runs with the GIL released.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <unordered_map>

#include "bindings/bindings.hpp"
#include "bindings/convert.hpp"
#include "history/history.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

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

}  // namespace

namespace fj::bindings {

void bind_history(py::module_& m) {
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
      .def("sync", &fj::HistoryRecorder::sync, py::call_guard<py::gil_scoped_release>(),
           "Flushes and fsyncs the history; raises RuntimeError naming the file if writing "
           "failed.")
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
}

}  // namespace fj::bindings
