// The sweep's progress line on a terminal: what it says, fitted to the terminal's width.
#pragma once

#include <codef/sweep.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

namespace codef::cli {

// 1234567 as "1,234,567".
inline std::string thousands(std::uint64_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
        s.insert(static_cast<std::size_t>(i), ",");
    return s;
}

// The line for a terminal width columns wide: at most width - 1 characters (a line as wide as
// the terminal wraps on some), so that a carriage return redraws it in place. The bar (up to 30
// wide) shrinks first, then goes; then the line is cut.
inline std::string progress_line(const codef::sweep_progress& p, std::size_t width) {
    const std::uint64_t finished = p.ids_done + p.ids_skipped;
    double share = -1;
    std::string counts;
    if (p.ids_total && *p.ids_total > 0) {
        share = std::min(1.0, static_cast<double>(finished) / static_cast<double>(*p.ids_total));
        counts = thousands(finished) + "/" + thousands(*p.ids_total) + " " +
                 std::to_string(static_cast<int>(share * 100)) + "%";
    } else {
        counts = thousands(finished) + " connectedIds";
    }
    counts += "  " + thousands(static_cast<std::uint64_t>(p.rate)) + "/s";
    if (p.eta)
        counts += "  ETA " + std::to_string(p.eta->count() / 60) + "m" +
                  std::to_string(p.eta->count() % 60) + "s";
    counts += "  failed " + thousands(p.failed);
    const std::size_t room = width > 1 ? width - 1 : 0;
    constexpr std::size_t min_bar = 10, max_bar = 30, around = 3; // "[", "] "
    std::string line;
    if (share >= 0 && room >= counts.size() + around + min_bar) {
        const std::size_t bar = std::min(max_bar, room - counts.size() - around);
        const auto filled = static_cast<std::size_t>(share * static_cast<double>(bar));
        line = "[" + std::string(filled, '#') + std::string(bar - filled, '-') + "] ";
    }
    line += counts;
    if (line.size() > room) line.resize(room);
    return line;
}

} // namespace codef::cli
