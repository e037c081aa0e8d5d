// The file a fuzz input becomes for the decoders that read files: one per process, alone in a
// directory of its own (in /dev/shm when there is one), removed at exit.
#pragma once

#include "fuzz_check.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace codef::fuzz {

class scratch_file {
public:
    scratch_file() {
        std::string dir = std::filesystem::is_directory("/dev/shm")
                              ? "/dev/shm"
                              : std::filesystem::temp_directory_path().string();
        dir += "/codef-fuzz-XXXXXX";
        CODEF_FUZZ_CHECK(::mkdtemp(dir.data()) != nullptr);
        dir_ = dir;
        path_ = dir + "/input";
    }
    ~scratch_file() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    scratch_file(const scratch_file&) = delete;
    scratch_file& operator=(const scratch_file&) = delete;

    const std::string& path() const { return path_; }

    void assign(std::string_view text) {
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CODEF_FUZZ_CHECK(fd >= 0);
        for (std::size_t off = 0; off < text.size();) {
            const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
            CODEF_FUZZ_CHECK(n > 0);
            off += static_cast<std::size_t>(n);
        }
        ::close(fd);
    }
    void truncate(std::size_t size) {
        CODEF_FUZZ_CHECK(::truncate(path_.c_str(), static_cast<off_t>(size)) == 0);
    }
    std::string contents() const {
        std::string out;
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        CODEF_FUZZ_CHECK(fd >= 0);
        char buf[1 << 14];
        for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
            CODEF_FUZZ_CHECK(n > 0);
            out.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fd);
        return out;
    }

private:
    std::string dir_;
    std::string path_;
};

inline scratch_file& scratch() {
    static scratch_file f;
    return f;
}

} // namespace codef::fuzz
