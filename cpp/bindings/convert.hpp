// Argument conversion shared by the binding files: Python values <-> JSON (None, bool, int,
// float, str, list, tuple, dict; numpy scalars through __index__/__float__), history ops as
// dicts, paths, signals by name or number.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <utility>
#include <vector>

#include "history/history.hpp"

namespace fj::bindings {

/// A Python value as JSON; TypeError/ValueError for what JSON cannot hold.
json to_json(pybind11::handle h, int depth = 0);

/// JSON as the Python value it came from.
pybind11::object to_py(const json& j);

/// One op as a dict: core fields and its extras side by side.
pybind11::dict op_to_py(const Op& op);
pybind11::list ops_to_py(const std::vector<Op>& ops);
/// Ops from an iterable of dicts; ValueError naming the first that is not an op.
std::vector<Op> ops_from_py(pybind11::handle seq);
/// [(line, reason)] for the unreadable lines of a history file.
pybind11::list errors_to_py(const std::vector<std::pair<size_t, std::string>>& errors);

/// str, bytes or path-like as a path string (os.fspath).
std::string path_of(pybind11::handle h);

/// A signal given as a name ("KILL", "SIGSTOP"...) or an int; ValueError when unknown.
int signal_of(pybind11::handle h);

}  // namespace fj::bindings
