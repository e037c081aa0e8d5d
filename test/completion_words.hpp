// Test support: reading back a bash completion script made by codef::cli (completion.hpp).
#pragma once

#include <set>
#include <sstream>
#include <string>

namespace codef::test {

// The words of a completion script's `NAME) opts='...'` line ('' for before the command).
inline std::set<std::string> completion_opts(const std::string& script, const std::string& name) {
    const std::string head = "        " + name + ") opts='";
    const auto at = script.find(head);
    if (at == std::string::npos) return {};
    const auto from = at + head.size();
    std::istringstream words(script.substr(from, script.find('\'', from) - from));
    std::set<std::string> out;
    for (std::string w; words >> w;)
        out.insert(w);
    return out;
}

} // namespace codef::test
