// A tar archive written as it is sent: how SshRemote uploads a batch of files as one stream on
// one channel (`tar -x` on the node), with no reply to wait for between files or chunks, where
// libssh 0.10's SFTP waits for the server after every write. POSIX ustar members, with a pax
// header for a path longer than ustar's 100-byte name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace fj {

/// The header block(s) of a regular file member: `path` as the node should write it, `size`
/// bytes of content to follow, permission bits `mode`.
std::string tar_file_header(const std::string& path, std::uint64_t size, unsigned mode);

/// The zero bytes that pad a member of `size` bytes to a whole block.
std::size_t tar_padding(std::uint64_t size);

/// One file to put in the stream: read from `local_path`, which had `size` bytes when checked.
struct TarMember {
  std::string local_path;
  std::string remote_path;
  std::uint64_t size;
  unsigned mode;
};

/// The archive of some files, handed out a piece at a time (header, content, padding, ..., the
/// two zero blocks at the end). Throws std::runtime_error naming the file when a local file
/// cannot be read or is shorter than it was.
class TarStream {
 public:
  explicit TarStream(std::vector<TarMember> members);

  /// Copies up to `n` bytes of the archive into `out`; 0 once it has all been read.
  std::size_t read(char* out, std::size_t n);

 private:
  void next_member();  // opens the next file, or queues the end blocks after the last

  std::vector<TarMember> members_;
  std::size_t index_ = 0;
  bool started_ = false;
  std::string pending_;  // header bytes, padding or the end blocks not handed out yet
  std::size_t pending_at_ = 0;
  std::ifstream file_;
  std::uint64_t content_left_ = 0;
  std::uint64_t padding_left_ = 0;
  bool ended_ = false;
};

}  // namespace fj
