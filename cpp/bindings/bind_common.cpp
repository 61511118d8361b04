// Bindings of cpp/common: the run's log, shared by C++ and Python's logging.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/bindings.hpp"
#include "common/log.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace fj::bindings {

void bind_common(py::module_& m) {
  m.def("log_configure", &fj::log::configure, "console_level"_a = "info");
  m.def("log_open_file", &fj::log::open_file, "path"_a, "file_level"_a = "debug");
  m.def("log_close_file", &fj::log::close_file);
  m.def("log_write", &fj::log::write, "level"_a, "name"_a, "message"_a);
  m.def("log_flush", &fj::log::flush);
}

}  // namespace fj::bindings
