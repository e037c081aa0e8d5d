// How the command-line tool writes JSON: compact (one line) or pretty (indented), the latter for
// a person at a terminal.
#pragma once

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace codef::cli {

// Two spaces an indentation level, one member or element a line; strings, numbers and the rest
// as boost::json::serialize writes them. Recursive: a parsed reply is at most 32 deep.
inline void append_pretty(std::string& out, const boost::json::value& v, std::size_t depth = 0) {
    const auto newline = [&](std::size_t d) {
        out += '\n';
        out.append(2 * d, ' ');
    };
    if (const auto* o = v.if_object(); o && !o->empty()) {
        out += '{';
        bool first = true;
        for (const auto& kv : *o) {
            if (!first) out += ',';
            first = false;
            newline(depth + 1);
            out += boost::json::serialize(kv.key());
            out += ": ";
            append_pretty(out, kv.value(), depth + 1);
        }
        newline(depth);
        out += '}';
    } else if (const auto* a = v.if_array(); a && !a->empty()) {
        out += '[';
        bool first = true;
        for (const auto& e : *a) {
            if (!first) out += ',';
            first = false;
            newline(depth + 1);
            append_pretty(out, e, depth + 1);
        }
        newline(depth);
        out += ']';
    } else {
        out += boost::json::serialize(v);
    }
}

inline std::string json_text(const boost::json::value& v, bool pretty) {
    if (!pretty) return boost::json::serialize(v);
    std::string out;
    append_pretty(out, v);
    return out;
}

} // namespace codef::cli
