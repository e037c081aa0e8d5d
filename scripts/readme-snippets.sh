#!/usr/bin/env bash
# Compiles every C++ block of README.md and README.ko.md (g++, C++20, syntax only), so that the
# README cannot show code that does not build. A block with its own main() is compiled as it is;
# any other is the body of a coroutine that has a client, an io_context, a path and params in
# scope (and ask_the_user, the reader's own function).
#   scripts/readme-snippets.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(-std=c++20 -fsyntax-only -Wall -Wextra -Werror -Wno-unused-variable -Wno-unused-but-set-variable -Wno-unused-parameter
    -Iinclude -DBOOST_ASIO_SEPARATE_COMPILATION -DBOOST_BEAST_SEPARATE_COMPILATION)
n=0
for readme in README.md README.ko.md; do
    # Each ```cpp block to a file of its own.
    awk -v dir="$work" -v tag="$(basename "$readme" .md)" '
        /^```cpp$/ { inside = 1; n++; file = dir "/" tag "-" n ".block"; next }
        /^```/ { inside = 0; next }
        inside { print > file }' "$readme"
done
for block in "$work"/*.block; do
    n=$((n + 1))
    src=${block%.block}.cpp
    if grep -q 'int main' "$block"; then
        cp "$block" "$src"
    else
        {
            printf '%s\n' '#include <codef/accounts.hpp>' '#include <codef/client.hpp>' \
                '#include <codef/emulator.hpp>' '#include <codef/products.hpp>' \
                '#include <codef/sweep.hpp>' '#include <codef/two_way.hpp>' \
                '#include <boost/asio.hpp>' '#include <boost/json.hpp>' '#include <string>' \
                'codef::two_way_answer ask_the_user(const codef::two_way_challenge&);' \
                'boost::asio::awaitable<void> snippet(codef::client& client,' \
                '    boost::asio::io_context& ioc, std::string path, boost::json::object params) {' \
                '{'
            cat "$block"
            printf '%s\n' '}' 'co_return;' '}'
        } >"$src"
    fi
    if ! g++ "${flags[@]}" "$src" 2>"$work/err"; then
        echo "readme-snippets: $(basename "$block" .block) does not compile:" >&2
        cat "$src" >&2
        head -30 "$work/err" >&2
        exit 1
    fi
done
echo "readme-snippets: $n blocks compile"
