#include "nemesis/clock.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "remote/remote.hpp"

namespace fj {

std::string faketime_spec(double offset_s) {
  constexpr double kTenYears = 10.0 * 365 * 24 * 3600;
  if (!std::isfinite(offset_s) || std::fabs(offset_s) > kTenYears) {
    throw std::invalid_argument(
        "clock offset must be a finite number of seconds within ten "
        "years");
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.6fs", offset_s);
  return buf;
}

std::string clock_command(const std::vector<std::string>& files, double offset_s) {
  if (files.empty()) throw std::invalid_argument("clock fault: no clock file");
  const std::string spec = shell_quote(faketime_spec(offset_s));
  std::string cmd;
  for (const auto& f : files) {
    if (f.empty() || f[0] != '/') {
      throw std::invalid_argument("clock file must be an absolute path, not '" + f + "'");
    }
    const std::string q = shell_quote(f);
    cmd += "[ -e " + q + " ] || { echo " +
           shell_quote("no clock file " + f +
                       ": its processes were not started under "
                       "libfaketime") +
           " >&2; exit 3; }; ";
  }
  for (const auto& f : files) {
    const std::string q = shell_quote(f);
    const std::string tmp = shell_quote(f + ".next");
    cmd += "printf '%s\\n' " + spec + " > " + tmp + " && mv -f " + tmp + " " + q + " || exit 4; ";
  }
  return cmd + "true";
}

}  // namespace fj
