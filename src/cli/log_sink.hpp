// Where the command-line tool sends the client's log (config::log): stderr with -v/-vv, a file
// with --log-file; and the sweep's --metrics file. The lines come from the client's events, which
// carry no secret (observer.hpp); nothing here adds any.
#pragma once

#include <codef/metrics.hpp>
#include <codef/observer.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace codef::cli {

// The level the client logs at: -v debug, -vv (or more) trace; with --log-file alone, info;
// without either, off (the client formats no line at all).
inline codef::log_level log_level_for(int verbose, bool log_file) {
    if (verbose >= 2) return codef::log_level::trace;
    if (verbose == 1) return codef::log_level::debug;
    return log_file ? codef::log_level::info : codef::log_level::off;
}

// t as ISO 8601 in UTC with milliseconds: 2024-05-01T09:30:00.123Z.
inline std::string iso8601_utc(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
    const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char text[40];
    const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms.count() % 1000));
    return text;
}

// Writes all of text to fd (one write() unless it is interrupted or short).
inline bool write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// The log's destinations. Called by the client on the threads doing its work: each line is one
// write() per destination under a mutex, so that lines never interleave.
class log_sink {
public:
    log_sink() = default;
    log_sink(const log_sink&) = delete;
    log_sink& operator=(const log_sink&) = delete;
    ~log_sink() {
        if (fd_ >= 0) ::close(fd_);
    }

    // Lines to stderr, "codef: LEVEL: line". On a terminal each first erases the line the cursor
    // is on (a sweep's progress line, redrawn after it).
    void to_stderr(bool terminal) {
        stderr_ = true;
        erase_ = terminal;
    }

    // Lines appended to path, "TIME LEVEL line", the file opened once (O_APPEND; made with mode
    // 0600: a log is the operator's). Empty, or why it cannot be.
    std::string open_file(const std::string& path) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) return path + ": cannot be opened: " + std::strerror(errno);
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
        return {};
    }

    void write(codef::log_level level, std::string_view line) {
        const std::string_view name = codef::to_string(level);
        std::lock_guard lock(mutex_);
        if (stderr_) {
            buffer_.assign(erase_ ? "\r\x1b[K" : "");
            ((buffer_ += "codef: ") += name) += ": ";
            (buffer_ += line) += '\n';
            write_all(STDERR_FILENO, buffer_);
        }
        if (fd_ >= 0) {
            buffer_ = iso8601_utc(std::chrono::system_clock::now());
            ((buffer_ += ' ') += name) += ' ';
            (buffer_ += line) += '\n';
            write_all(fd_, buffer_); // a full disk loses log lines, never the command's work
        }
    }

private:
    std::mutex mutex_;
    std::string buffer_; // reused: one allocation for the run, not one a line
    bool stderr_ = false;
    bool erase_ = false;
    int fd_ = -1;
};

// text written beside path (a file of its own, made 0600 by mkstemp, then given mode) and renamed
// over path: a reader sees the old file or the new one, never half of one. Empty, or why it could
// not be.
inline std::string write_replacing(const std::string& path, std::string_view text,
                                   mode_t mode = 0644) {
    std::string tmp = path + ".XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) return path + ": cannot be written: " + std::strerror(errno);
    bool ok = write_all(fd, text) && (mode == 0600 || ::fchmod(fd, mode) == 0);
    const int err = errno;
    if (::close(fd) != 0) ok = false;
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(ok ? errno : err);
        ::unlink(tmp.c_str());
        return path + ": cannot be written: " + why;
    }
    return {};
}

} // namespace codef::cli
