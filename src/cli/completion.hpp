// The command-line tool's bash completion, generated from the CLI11 app itself (its commands,
// options and value types), so that it cannot drift from the program: `codef completion bash`.
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace codef::cli {

// What completes an option's or a positional's value, read from its CLI11 type name: FILE or PEM
// (FILE|- too): file names; lowercase words separated by '|' (sandbox|development|production):
// those words; anything else (URL, N, JSON, JSON|@FILE|-): nothing.
struct value_completion {
    bool files = false;
    std::vector<std::string> words;
};

inline value_completion value_completion_of(std::string_view type) {
    value_completion v;
    if (type.find('@') != std::string_view::npos) return v; // @FILE: not completed
    if (type.find("FILE") != std::string_view::npos || type.find("PEM") != std::string_view::npos) {
        v.files = true;
        return v;
    }
    std::string word;
    for (std::size_t i = 0; i <= type.size(); ++i) {
        if (i == type.size() || type[i] == '|') {
            if (word.empty()) return {};
            v.words.push_back(word);
            word.clear();
        } else if (std::islower(static_cast<unsigned char>(type[i])) || type[i] == '-') {
            word += type[i];
        } else {
            return {};
        }
    }
    return v;
}

struct completion_option {
    std::vector<std::string> names; // --long and -s forms
    bool takes_value = false;
    value_completion value;
};

struct completion_command {
    std::string name;
    std::vector<completion_option> options;
    std::vector<value_completion> positionals; // in order
    bool global_options = true;                // the global options are taken after it too
};

struct completion_model {
    std::vector<completion_option> global;
    std::vector<completion_command> commands;
};

// An option that takes a value (a flag expects none).
inline bool takes_value(const CLI::Option& o) {
    return o.get_expected_max() > 0;
}

inline completion_option completion_option_of(const CLI::Option& o) {
    completion_option c;
    for (const auto& l : o.get_lnames())
        c.names.push_back("--" + l);
    for (const auto& s : o.get_snames())
        c.names.push_back("-" + s);
    c.takes_value = takes_value(o);
    if (c.takes_value) c.value = value_completion_of(o.get_type_name());
    return c;
}

// Every command and option of app, as CLI11 holds them; a command's positionals in order.
inline completion_model completion_model_of(const CLI::App& app) {
    completion_model m;
    for (const CLI::Option* o : app.get_options())
        if (o->nonpositional()) m.global.push_back(completion_option_of(*o));
    for (const CLI::App* sub : app.get_subcommands({})) {
        completion_command c;
        c.name = sub->get_name();
        c.global_options = sub->get_fallthrough();
        for (const CLI::Option* o : sub->get_options()) {
            if (o->nonpositional())
                c.options.push_back(completion_option_of(*o));
            else
                c.positionals.push_back(value_completion_of(o->get_type_name()));
        }
        m.commands.push_back(std::move(c));
    }
    return m;
}

// The options of a help text written by hand (the emulator's): each "--name" at the start of a
// line indented by 1 to 10 spaces (more: a description's continuation), or after another
// option's value on it; a value when an uppercase word follows.
inline std::vector<completion_option> options_of_help(std::string_view help) {
    std::vector<completion_option> out;
    std::istringstream lines{std::string(help)};
    for (std::string line; std::getline(lines, line);) {
        const auto indent = line.find_first_not_of(' ');
        if (indent == 0 || indent > 10 || indent == std::string::npos) continue;
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string x; words >> x;)
            w.push_back(x);
        for (std::size_t i = 0; i < w.size(); ++i) {
            if (!w[i].starts_with("--")) break;
            completion_option o;
            o.names.push_back(w[i]);
            if (i + 1 < w.size() && !w[i + 1].empty() &&
                std::isupper(static_cast<unsigned char>(w[i + 1][0]))) {
                o.takes_value = true;
                o.value = value_completion_of(w[i + 1]);
                ++i;
            }
            out.push_back(std::move(o));
        }
    }
    return out;
}

namespace detail {

inline std::string join(const std::vector<std::string>& words) {
    std::string s;
    for (const auto& w : words)
        s += (s.empty() ? "" : " ") + w;
    return s;
}

// The names of options (only those taking a value: valued_only), each once, in order.
inline std::string words_of(const std::vector<const std::vector<completion_option>*>& lists,
                            bool valued_only) {
    std::vector<std::string> words;
    for (const auto* options : lists)
        for (const auto& o : *options)
            if (!valued_only || o.takes_value)
                for (const auto& n : o.names)
                    if (std::find(words.begin(), words.end(), n) == words.end()) words.push_back(n);
    return join(words);
}

// The COMPREPLY line for a value.
inline std::string reply_for(const value_completion& v) {
    if (v.files) return "COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null";
    return "COMPREPLY=($(compgen -W '" + join(v.words) + "' -- \"$cur\"))";
}

} // namespace detail

// A bash completion script (`complete -F _codef codef`) for the model: commands, the options of
// each (the global ones too where a command takes them), --name=value, and the values of
// options and positionals that have a known set (words) or are files.
inline std::string bash_completion(const completion_model& m, std::string_view program,
                                   std::string_view version) {
    std::ostringstream s;
    std::vector<std::string> names;
    for (const auto& c : m.commands)
        names.push_back(c.name);
    s << "# bash completion for " << program << " " << version << ", generated by `" << program
      << " completion bash`\n"
      << "# from the program's own commands and options.\n\n";
    // _codef_words COMMAND: the options (opts), those taking a value (valued, space-delimited)
    s << "_codef_words() {\n"
      << "    case $1 in\n";
    s << "        '') opts='" << detail::words_of({&m.global}, false) << "'; valued=' "
      << detail::words_of({&m.global}, true) << " ' ;;\n";
    for (const auto& c : m.commands) {
        std::vector<const std::vector<completion_option>*> lists{&c.options};
        if (c.global_options) lists.push_back(&m.global);
        s << "        " << c.name << ") opts='" << detail::words_of(lists, false) << "'; valued=' "
          << detail::words_of(lists, true) << " ' ;;\n";
    }
    s << "    esac\n"
      << "}\n\n";

    s << "_codef() {\n"
      << "    local cur=${COMP_WORDS[COMP_CWORD]} prev= opt= opts= valued= command= word\n"
      << "    local i=1 npos=0\n"
      << "    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
      << "    _codef_words ''\n"
      << "    # The command: the first word that is neither an option nor an option's value\n"
      << "    # (bash splits --name=value at '=').\n"
      << "    while (( i < COMP_CWORD )); do\n"
      << "        word=${COMP_WORDS[i]}\n"
      << "        if [[ $word == -?* ]]; then\n"
      << "            if [[ ${COMP_WORDS[i+1]} == = ]]; then (( i += 3 )); continue; fi\n"
      << "            if [[ $valued == *\" $word \"* ]]; then (( i += 2 )); continue; fi\n"
      << "        elif [[ -z $command ]]; then\n"
      << "            command=$word\n"
      << "            _codef_words \"$command\"\n"
      << "        else\n"
      << "            (( npos++ ))\n"
      << "        fi\n"
      << "        (( i++ ))\n"
      << "    done\n"
      << "    if [[ $cur == = ]]; then\n"
      << "        opt=$prev cur=\n"
      << "    elif [[ $prev == = ]] && (( COMP_CWORD > 1 )); then\n"
      << "        opt=${COMP_WORDS[COMP_CWORD-2]}\n"
      << "    elif [[ $valued == *\" $prev \"* ]]; then\n"
      << "        opt=$prev\n"
      << "    fi\n"
      << "    if [[ -n $opt && $valued == *\" $opt \"* ]]; then\n"
      << "        case $opt in\n";
    // Value completions, per option name (the first seen wins: the names mean one thing).
    std::map<std::string, const value_completion*> values;
    auto collect = [&](const std::vector<completion_option>& options) {
        for (const auto& o : options)
            if (o.takes_value && (o.value.files || !o.value.words.empty()))
                for (const auto& n : o.names)
                    values.emplace(n, &o.value);
    };
    collect(m.global);
    for (const auto& c : m.commands)
        collect(c.options);
    for (const auto& [name, v] : values)
        s << "            " << name << ") " << detail::reply_for(*v) << " ;;\n";
    s << "            *) COMPREPLY=() ;;\n"
      << "        esac\n"
      << "        return 0\n"
      << "    fi\n"
      << "    if [[ $cur == -* ]]; then\n"
      << "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
      << "        return 0\n"
      << "    fi\n"
      << "    if [[ -z $command ]]; then\n"
      << "        COMPREPLY=($(compgen -W '" << detail::join(names) << "' -- \"$cur\"))\n"
      << "        return 0\n"
      << "    fi\n"
      << "    case \"$command $npos\" in\n";
    for (const auto& c : m.commands)
        for (std::size_t i = 0; i < c.positionals.size(); ++i)
            if (c.positionals[i].files || !c.positionals[i].words.empty())
                s << "        '" << c.name << " " << i << "') "
                  << detail::reply_for(c.positionals[i]) << " ;;\n";
    s << "        *) COMPREPLY=() ;;\n"
      << "    esac\n"
      << "    return 0\n"
      << "}\n"
      << "complete -F _codef " << program << "\n";
    return s.str();
}

} // namespace codef::cli
