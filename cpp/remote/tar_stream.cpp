#include "remote/tar_stream.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace fj {

namespace {

constexpr std::size_t kBlock = 512;
constexpr std::uint64_t kMaxUstarSize = 077777777777ULL;  // 11 octal digits

/// An octal number in a field of `width` bytes: digits, then a NUL.
void put_octal(char* field, std::size_t width, std::uint64_t value) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1),
                static_cast<unsigned long long>(value));
}

std::string ustar_block(const std::string& name, std::uint64_t size, unsigned mode, char type) {
  std::string block(kBlock, '\0');
  char* b = block.data();
  std::memcpy(b, name.data(), std::min<std::size_t>(name.size(), 100));
  put_octal(b + 100, 8, mode & 07777);
  put_octal(b + 108, 8, 0);  // uid and gid: the node's tar is told not to use them
  put_octal(b + 116, 8, 0);
  put_octal(b + 124, 12, std::min(size, kMaxUstarSize));
  put_octal(b + 136, 12, static_cast<std::uint64_t>(std::time(nullptr)));
  b[156] = type;
  std::memcpy(b + 257, "ustar", 6);
  std::memcpy(b + 263, "00", 2);
  // The checksum: the header's bytes summed with the checksum field as spaces.
  std::memset(b + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : block) sum += c;
  std::snprintf(b + 148, 8, "%06o", sum);
  b[155] = ' ';
  return block;
}

/// One pax record, "LEN key=value\n", LEN counting itself.
std::string pax_record(const std::string& key, const std::string& value) {
  const std::size_t body = 1 + key.size() + 1 + value.size() + 1;  // " key=value\n"
  std::size_t len = body + 1;
  while (std::to_string(len).size() + body != len) len = std::to_string(len).size() + body;
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

}  // namespace

std::size_t tar_padding(std::uint64_t size) {
  return static_cast<std::size_t>((kBlock - size % kBlock) % kBlock);
}

std::string tar_file_header(const std::string& path, std::uint64_t size, unsigned mode) {
  std::string records;
  if (path.size() > 100) records += pax_record("path", path);
  if (size > kMaxUstarSize) records += pax_record("size", std::to_string(size));
  std::string out;
  if (!records.empty()) {
    out += ustar_block("PaxHeader", records.size(), 0644, 'x');
    out += records;
    out.append(tar_padding(records.size()), '\0');
  }
  out += ustar_block(path, size, mode, '0');
  return out;
}

TarStream::TarStream(std::vector<TarMember> members) : members_(std::move(members)) {}

void TarStream::next_member() {
  if (started_) ++index_;
  started_ = true;
  file_ = std::ifstream();
  if (index_ >= members_.size()) {
    pending_.assign(2 * kBlock, '\0');
    pending_at_ = 0;
    ended_ = true;
    return;
  }
  const TarMember& m = members_[index_];
  file_.open(m.local_path, std::ios::binary);
  if (!file_) throw std::runtime_error("cannot open local file " + m.local_path);
  pending_ = tar_file_header(m.remote_path, m.size, m.mode);
  pending_at_ = 0;
  content_left_ = m.size;
  padding_left_ = tar_padding(m.size);
}

std::size_t TarStream::read(char* out, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    if (pending_at_ < pending_.size()) {
      const std::size_t k = std::min(n - done, pending_.size() - pending_at_);
      std::memcpy(out + done, pending_.data() + pending_at_, k);
      pending_at_ += k;
      done += k;
      continue;
    }
    if (content_left_ > 0) {
      const auto want =
          static_cast<std::streamsize>(std::min<std::uint64_t>(n - done, content_left_));
      file_.read(out + done, want);
      const auto got = static_cast<std::size_t>(file_.gcount());
      if (got == 0) {
        throw std::runtime_error("local file " + members_[index_].local_path +
                                 " is shorter than when the upload began");
      }
      content_left_ -= got;
      done += got;
      continue;
    }
    if (padding_left_ > 0) {
      const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(n - done, padding_left_));
      std::memset(out + done, 0, k);
      padding_left_ -= k;
      done += k;
      continue;
    }
    if (ended_) break;
    next_member();
  }
  return done;
}

}  // namespace fj
