// The pybind11 module flink_jepsen._core: its exception types and translators (C++ errors become
// Python exceptions that keep their details), then each folder's bindings (bind_<folder>.cpp).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/bindings.hpp"
#include "poll/http.hpp"
#include "remote/remote.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "flink-jepsen's C++ core: remotes, fan-out, nemesis, logging";

  // Exception types live as long as the interpreter: created once, never freed.
  static PyObject* remote_error =
      PyErr_NewException("flink_jepsen._core.RemoteError", PyExc_RuntimeError, nullptr);
  static PyObject* connection_error = PyErr_NewException("flink_jepsen._core.RemoteConnectionError",
                                                         PyExc_ConnectionError, nullptr);
  static PyObject* http_error =
      PyErr_NewException("flink_jepsen._core.HttpError", PyExc_ConnectionError, nullptr);
  m.add_object("RemoteError", py::handle(remote_error));
  m.add_object("RemoteConnectionError", py::handle(connection_error));
  m.add_object("HttpError", py::handle(http_error));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const fj::RemoteError& e) {
      py::object exc = py::reinterpret_borrow<py::object>(remote_error)(e.what());
      exc.attr("result") = py::cast(e.result());
      PyErr_SetObject(remote_error, exc.ptr());
    } catch (const fj::ConnectionError& e) {
      py::object exc = py::reinterpret_borrow<py::object>(connection_error)(e.what());
      exc.attr("node") = e.node();
      PyErr_SetObject(connection_error, exc.ptr());
    } catch (const fj::HttpError& e) {
      py::object exc = py::reinterpret_borrow<py::object>(http_error)(e.what());
      exc.attr("endpoint") = e.endpoint();
      exc.attr("reason") = e.reason();
      exc.attr("sent") = e.sent();
      PyErr_SetObject(http_error, exc.ptr());
    }
  });

  fj::bindings::bind_common(m);
  fj::bindings::bind_remote(m);
  fj::bindings::bind_history(m);
  fj::bindings::bind_nemesis(m);
  fj::bindings::bind_poll(m);
  fj::bindings::bind_kafka(m);
  fj::bindings::bind_check(m);
}
