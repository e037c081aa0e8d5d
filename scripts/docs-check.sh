#!/usr/bin/env bash
# Checks the reference documentation (Doxygen, docs/Doxyfile.in) of the public headers:
#   (a) doxygen on include/codef gives no warning at all (an undocumented public entity or a
#       documentation error is one), and every enumerator is documented (doxygen does not warn
#       about those: its XML output is read instead);
#   (b) the check can fail: on a copy of include/codef with an undocumented struct and an
#       undocumented enumerator appended, doxygen fails naming the struct, and (a)'s enumerator
#       check names the enumerator.
# Needs doxygen (Debian: apt-get install doxygen); no CMake, no build.
#   scripts/docs-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

command -v doxygen >/dev/null ||
    { echo "docs-check: doxygen is not installed (Debian: apt-get install doxygen)" >&2; exit 1; }
version=$(sed -n 's/^#define CODEF_VERSION_STRING "\(.*\)"$/\1/p' include/codef/version.hpp)
[[ -n $version ]] || { echo "docs-check: no CODEF_VERSION_STRING in version.hpp" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A value for sed's replacement text (delimiter '|').
sed_escape() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

# run_doxygen SOURCE_DIR OUT_DIR: docs/Doxyfile.in configured as CMake would (SOURCE_DIR as
# PROJECT_SOURCE_DIR), plus XML output for the enumerator check, run in OUT_DIR. Its warnings go
# to OUT_DIR/warnings; returns doxygen's status.
run_doxygen() {
    local src=$1 out=$2
    mkdir -p "$out"
    sed -e "s|@PROJECT_VERSION@|$(sed_escape "$version")|g" \
        -e "s|@PROJECT_SOURCE_DIR@|$(sed_escape "$src")|g" \
        -e "s|@CODEF_DOCS_OUTPUT@|$(sed_escape "$out")|g" docs/Doxyfile.in >"$out/Doxyfile"
    printf '%s\n' 'GENERATE_XML = YES' 'XML_OUTPUT = xml' >>"$out/Doxyfile"
    (cd "$out" && doxygen Doxyfile >"$out/log" 2>"$out/warnings")
}

# undocumented_enumerators OUT_DIR: one line per enumerator without a description, as
# enum::enumerator, from the XML output.
undocumented_enumerators() {
    awk '
        /<memberdef kind="enum"/ { enum = "" }
        /<qualifiedname>/ && !in_value {
            enum = $0; sub(/.*<qualifiedname>/, "", enum); sub(/<\/qualifiedname>.*/, "", enum)
        }
        /<enumvalue / { in_value = 1; value = ""; documented = 0; next }
        in_value && /<name>/ {
            value = $0; sub(/.*<name>/, "", value); sub(/<\/name>.*/, "", value)
        }
        in_value && /<para>/ { documented = 1 }
        in_value && /<\/enumvalue>/ { if (!documented) print enum "::" value; in_value = 0 }
    ' "$1"/xml/*.xml | sort -u
}

# (a) The real headers.
status=0
run_doxygen "$root" "$work/real" || status=$?
warnings=$(sort -u "$work/real/warnings" | grep -c . || true)
if ((status != 0 || warnings != 0)); then
    echo "docs-check: (a) doxygen on include/codef: $warnings warnings (status $status):" >&2
    cat "$work/real/warnings" >&2
    exit 1
fi
echo "docs-check: (a) doxygen on include/codef: 0 warnings"
missing=$(undocumented_enumerators "$work/real")
if [[ -n $missing ]]; then
    echo "docs-check: (a) undocumented enumerators:" >&2
    echo "$missing" >&2
    exit 1
fi
echo "docs-check: (a) every enumerator is documented"

# (b) The check fails on an undocumented struct, and on an undocumented enumerator.
probe=$work/probe-root
mkdir -p "$probe/include"
cp -R include/codef "$probe/include/codef"
cp README.md README.ko.md "$probe/"
cat >>"$probe/include/codef/response.hpp" <<'EOF'

namespace codef {
struct undocumented_probe {
    int x;
};
/// A documented enum with an undocumented enumerator.
enum class probe_enum { undocumented_enumerator_probe };
} // namespace codef
EOF
status=0
run_doxygen "$probe" "$work/probe" || status=$?
if ((status == 0)) || ! grep -q 'undocumented_probe' "$work/probe/warnings"; then
    echo "docs-check: (b) doxygen did not fail on an undocumented struct (status $status):" >&2
    cat "$work/probe/warnings" >&2
    exit 1
fi
warning=$(grep -m1 'undocumented_probe' "$work/probe/warnings")
echo "docs-check: (b) an undocumented struct fails the check: ${warning#"$probe/"}"
enumerator=codef::probe_enum::undocumented_enumerator_probe
if ! undocumented_enumerators "$work/probe" | grep -qxF "$enumerator"; then
    echo "docs-check: (b) the enumerator check missed an undocumented enumerator" >&2
    exit 1
fi
echo "docs-check: (b) an undocumented enumerator fails the check: $enumerator"
echo "docs-check: passed"
