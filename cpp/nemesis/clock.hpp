// Clock faults per process, as Jepsen's faketime.clj does them: the processes of a system are
// started under libfaketime (LD_PRELOAD) reading their offset from a file on their node (one file
// per node and system); moving a process's clock is rewriting that file. The wall clock moves
// (System.currentTimeMillis, gettimeofday, CLOCK_REALTIME); the monotonic clock is left alone, as
// on a host whose clock is stepped, so timers and sleeps keep working.
#pragma once

#include <string>
#include <vector>

namespace fj {

/// The libfaketime path on Debian (package libfaketime).
inline constexpr const char* kFaketimeLibrary =
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// The libfaketime spec of an offset in seconds: "+12.500000s", "-3.000000s".
/// Throws std::invalid_argument for an offset that is not finite or beyond ten years.
std::string faketime_spec(double offset_s);

/// The bash that sets each file's offset atomically (written beside it, then renamed, so
/// libfaketime never reads half a spec); it fails, naming the file, when one does not exist
/// (the process was not started under libfaketime).
std::string clock_command(const std::vector<std::string>& files, double offset_s);

}  // namespace fj
