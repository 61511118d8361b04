// Each part of the core binds itself in its own file; module.cpp calls them in order.
#pragma once

#include <pybind11/pybind11.h>

namespace fj::bindings {

/// History recorder/reader, availability poller, HTTP client and checkers (bind_history.cpp).
void bind_history(pybind11::module_& m);

}  // namespace fj::bindings
