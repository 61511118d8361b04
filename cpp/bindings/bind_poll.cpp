// Bindings of cpp/poll: the kept-alive HTTP client and the availability poller. Requests, starts
// and stops run with the GIL released.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/bindings.hpp"
#include "bindings/convert.hpp"
#include "poll/http.hpp"
#include "poll/poller.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace fj::bindings {

void bind_poll(py::module_& m) {
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
}

}  // namespace fj::bindings
