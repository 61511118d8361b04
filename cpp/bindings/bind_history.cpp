#include "bindings/bindings.hpp"

namespace fj::bindings {

void bind_history(pybind11::module_& /*m*/) {}

}  // namespace fj::bindings
