// Each folder of the core binds itself in its own file (bind_<folder>.cpp); module.cpp creates
// the module and its exception types, then calls them in this order (a type is bound before the
// signatures that name it).
#pragma once

#include <pybind11/pybind11.h>

namespace fj::bindings {

/// Logging (cpp/common).
void bind_common(pybind11::module_& m);
/// ExecResult, Remote and its kinds, fan-out, daemons (cpp/remote).
void bind_remote(pybind11::module_& m);
/// History recorder and readers (cpp/history).
void bind_history(pybind11::module_& m);
/// Grudges, Partitioner, FaultInjector (cpp/nemesis).
void bind_nemesis(pybind11::module_& m);
/// HTTP client and availability poller (cpp/poll).
void bind_poll(pybind11::module_& m);
/// The exactly-once workload's Kafka producer (cpp/kafka).
void bind_kafka(pybind11::module_& m);
/// Availability and exactly-once checkers, the live availability monitor (cpp/check).
void bind_check(pybind11::module_& m);

}  // namespace fj::bindings
