// The command-line tool's profile: a TOML/INI file of non-secret global settings
// (`key = value`, CLI11's config format). What a profile may hold is checked here, before CLI11
// sees it: a secret, a section, an unknown key or a bad value is refused with the key named and
// never the value.
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <functional>
#include <istream>
#include <sstream>
#include <string>
#include <vector>

namespace codef::cli {

// What a profile key is to the program.
struct setting {
    enum class kind { unknown, secret, flag, value };
    kind what = kind::unknown;
    // The option's environment variable: set, it wins over the profile (the item is dropped).
    std::string envname;
    // What is wrong with a value (empty: nothing); the value itself never appears in it.
    std::function<std::string(const std::string&)> problem;
};
using setting_lookup = std::function<setting(const std::string& key)>;

// A key as people write it: any case, '_' or '-'.
inline std::string normalized_key(std::string key) {
    for (char& c : key) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (c == '_') c = '-';
    }
    return key;
}

// A key that names a secret whatever the program knows of it: client-secret, a password, a
// token (also spelt as the environment variable, CODEF_CLIENT_SECRET).
inline bool secret_key(const std::string& key) {
    const std::string k = normalized_key(key);
    for (const char* word : {"secret", "password", "passwd", "token"})
        if (k.find(word) != std::string::npos) return true;
    return false;
}

// A key that may be shown in a message: one that looks like a setting's name (letters, '-',
// '_', '.'), so that a line holding nothing but a secret (digits in it) is never echoed.
inline bool plain_key(const std::string& key) {
    return !key.empty() && key.size() <= 40 && std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalpha(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
}

// "KEY: what", or "a line that is not a setting: what" for a key not shown.
inline std::string about_key(const std::string& key, const std::string& what) {
    return (plain_key(key) ? key : std::string("a line that is not a setting")) + ": " + what;
}

struct profile_check {
    std::vector<CLI::ConfigItem> accepted; // named as the options are (normalized_key)
    std::string problem;                   // the first: "KEY: what is wrong"; empty: none
};

inline bool flag_value(const std::string& v) {
    const std::string s = normalized_key(v);
    for (const char* ok : {"true", "false", "1", "0", "yes", "no", "on", "off"})
        if (s == ok) return true;
    return false;
}

// The items CLI11 read from a profile, checked: global settings only, no secret, each known
// and well-formed. An item whose option's environment variable is set is dropped (the
// environment wins over the profile); CLI11 itself lets the command line win.
inline profile_check check_profile(const std::vector<CLI::ConfigItem>& items,
                                   const setting_lookup& lookup,
                                   const std::function<bool(const std::string&)>& env_set,
                                   const std::string& known_keys) {
    profile_check r;
    auto refuse = [&](const std::string& text) {
        if (r.problem.empty()) r.problem = text;
    };
    for (const auto& item : items) {
        if (!item.parents.empty()) {
            // A section ([sweep]) or a dotted key: CLI11 would select a command with it.
            std::string section;
            for (const auto& p : item.parents)
                section += (section.empty() ? "" : ".") + p;
            refuse("[" + (plain_key(section) ? section : std::string("...")) +
                   "]: a profile holds global settings only, without sections");
            continue;
        }
        const std::string key = normalized_key(item.name);
        const setting s = lookup(key);
        if (s.what == setting::kind::secret || secret_key(key)) {
            refuse(about_key(item.name,
                             "a secret is never read from a profile (give it in the environment)"));
            continue;
        }
        if (s.what == setting::kind::unknown) {
            refuse(plain_key(item.name)
                       ? about_key(item.name, "not a profile setting (" + known_keys + ")")
                       : "a line that is not a setting (" + known_keys + ")");
            continue;
        }
        if (item.inputs.size() != 1) {
            refuse(about_key(item.name,
                             "one value is expected (quote a value with spaces or commas)"));
            continue;
        }
        if (s.what == setting::kind::flag && !flag_value(item.inputs.front())) {
            refuse(about_key(item.name, "true or false"));
            continue;
        }
        if (s.what == setting::kind::value && s.problem) {
            if (auto p = s.problem(item.inputs.front()); !p.empty()) {
                refuse(about_key(item.name, p));
                continue;
            }
        }
        if (!s.envname.empty() && env_set(s.envname)) continue; // the environment wins
        CLI::ConfigItem accepted = item;
        accepted.name = key;
        r.accepted.push_back(std::move(accepted));
    }
    return r;
}

// CLI11's TOML/INI reader with check_profile applied. A problem is kept (the first one, with
// which file it was read from, counting from 0) rather than thrown, so that --help and
// --version work with a broken profile; the program reports it after parsing.
class profile_format : public CLI::ConfigTOML {
public:
    // A profile is a few lines; more than this is refused unread.
    static constexpr std::size_t max_size = 64 * 1024;

    profile_format(setting_lookup lookup, std::function<bool(const std::string&)> env_set,
                   std::string known_keys)
        : lookup_(std::move(lookup))
        , env_set_(std::move(env_set))
        , known_keys_(std::move(known_keys)) {}

    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
        const std::size_t file = files_read_++;
        std::string text(max_size + 1, '\0');
        input.read(text.data(), static_cast<std::streamsize>(text.size()));
        text.resize(static_cast<std::size_t>(input.gcount()));
        if (text.size() > max_size) {
            keep("larger than 64 KiB", file);
            return {};
        }
        std::istringstream in(text);
        auto checked =
            check_profile(CLI::ConfigTOML::from_config(in), lookup_, env_set_, known_keys_);
        if (!checked.problem.empty()) keep(checked.problem, file);
        return checked.accepted;
    }

    const std::string& problem() const noexcept { return problem_; }
    // Which read file the problem was found in: 0 for the first read.
    std::size_t problem_file() const noexcept { return problem_file_; }

private:
    void keep(const std::string& p, std::size_t file) const {
        if (!problem_.empty()) return;
        problem_ = p;
        problem_file_ = file;
    }

    setting_lookup lookup_;
    std::function<bool(const std::string&)> env_set_;
    std::string known_keys_;
    mutable std::size_t files_read_ = 0;
    mutable std::string problem_;
    mutable std::size_t problem_file_ = 0;
};

} // namespace codef::cli
