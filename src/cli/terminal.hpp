// The terminal, for the prompts of the command-line tool (`codef encrypt`, two-way
// authentication): echo turned off and turned back on on every path, a signal included, and
// lines read with a bound.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <string>

#include <termios.h>
#include <unistd.h>

namespace codef::cli {

namespace terminal_detail {
// The settings before echo was turned off, and where; written before echo_off is set.
inline termios saved_settings{};
inline int saved_fd = -1;
inline std::atomic<bool> echo_off{false};
} // namespace terminal_detail

// Turns echo back on when a no_echo turned it off, and ends the line on stderr (the Enter that
// ended the typed line was not echoed). Async-signal-safe (an atomic, tcsetattr, write), so that
// the signal handling calls it before the process exits; at most once for each no_echo.
inline void restore_terminal() noexcept {
    if (!terminal_detail::echo_off.exchange(false)) return;
    ::tcsetattr(terminal_detail::saved_fd, TCSANOW, &terminal_detail::saved_settings);
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, "\n", 1);
}

// While it lives, the terminal fd does not echo what is typed (a password); signals (Ctrl-C)
// still work. Nothing happens when fd is not a terminal.
class no_echo {
public:
    explicit no_echo(int fd) {
        termios t{};
        if (::isatty(fd) != 1 || ::tcgetattr(fd, &t) != 0) return;
        terminal_detail::saved_settings = t;
        terminal_detail::saved_fd = fd;
        terminal_detail::echo_off.store(true);
        t.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL);
        if (::tcsetattr(fd, TCSAFLUSH, &t) != 0) terminal_detail::echo_off.store(false);
    }
    ~no_echo() { restore_terminal(); }
    no_echo(const no_echo&) = delete;
    no_echo& operator=(const no_echo&) = delete;
};

// One line read from fd, without its newline.
struct line_read {
    std::string text;
    bool eof = false;      // the input ended before a newline, nothing read
    bool too_long = false; // more than the bound before the newline (the rest of it is read too)
    int error = 0;         // errno of a failed read
};

// Reads up to and including a newline, a byte at a time (nothing after it is taken from fd), at
// most max bytes kept; an input that ends after some bytes gives them as the line. The newline
// is not kept, nor a "\r" right before it.
inline line_read read_line(int fd, std::size_t max) {
    line_read out;
    out.text.reserve(max + 1); // never reallocated: a password leaves no copy behind
    for (;;) {
        char c = 0;
        const ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            out.error = errno;
            return out;
        }
        if (n == 0) {
            out.eof = out.text.empty() && !out.too_long;
            return out;
        }
        if (c == '\n') {
            if (!out.text.empty() && out.text.back() == '\r') out.text.pop_back();
            return out;
        }
        if (out.text.size() >= max)
            out.too_long = true;
        else
            out.text += c;
    }
}

// s without one trailing newline ("\n" or "\r\n"), as a line typed or `echo` ends.
inline void drop_one_newline(std::string& s) {
    if (s.ends_with("\r\n"))
        s.resize(s.size() - 2);
    else if (s.ends_with('\n'))
        s.pop_back();
}

} // namespace codef::cli
