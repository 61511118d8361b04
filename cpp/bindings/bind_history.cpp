// Bindings of cpp/history: the recorder and the readers (ops as dicts, or columns for data
// frames, as numpy arrays). Python values cross as JSON; file I/O runs with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <vector>

#include "bindings/bindings.hpp"
#include "bindings/convert.hpp"
#include "history/columns.hpp"
#include "history/history.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

// A vector handed to numpy without a copy: the array's base owns it.
template <class T>
py::array_t<T> owned_array(std::vector<T>&& v) {
  auto held = std::make_unique<std::vector<T>>(std::move(v));
  const std::vector<T>& data = *held;
  py::capsule owner(held.get(), [](void* p) {
    std::unique_ptr<std::vector<T>>(static_cast<std::vector<T>*>(p));
  });
  held.release();
  return py::array_t<T>(static_cast<py::ssize_t>(data.size()), data.data(), owner);
}

// A text column as (codes, texts): an int32 array and one str per distinct text.
py::tuple text_column(fj::TextColumn&& c) {
  py::list texts(c.texts.size());
  for (size_t i = 0; i < c.texts.size(); ++i) texts[i] = py::str(c.texts[i]);
  return py::make_tuple(owned_array(std::move(c.codes)), texts);
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
        if (!errors.is_none())
          for (const auto& [line, why] : c.errors) errors.attr("append")(py::make_tuple(line, why));
        py::dict d;
        d["index"] = owned_array(std::move(c.index));
        d["time"] = owned_array(std::move(c.time));
        d["process"] = text_column(std::move(c.process));
        d["type"] = text_column(std::move(c.type));
        d["f"] = text_column(std::move(c.f));
        d["value"] = text_column(std::move(c.value));
        d["error"] = text_column(std::move(c.error));
        return d;
      },
      "path"_a, "errors"_a = py::none(),
      "Reads a history as columns for data frames: index and time as int64 arrays; process (as "
      "text), type, f, value (JSON text) and error each as (int32 codes, distinct texts), code "
      "-1 for no error. Unreadable lines are appended to `errors` if given.");
}

}  // namespace fj::bindings
