// What the fuzz targets share: the input as a string_view, and an invariant check that crashes
// (libFuzzer keeps the input as an artifact; the corpus runner fails the test).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

// Checked in every build, NDEBUG or not.
#define CODEF_FUZZ_CHECK(cond)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: invariant does not hold: %s\n", __FILE__, __LINE__,       \
                         #cond);                                                                   \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)

namespace codef::fuzz {

inline std::string_view bytes(const std::uint8_t* data, std::size_t size) {
    return size == 0 ? std::string_view()
                     : std::string_view(reinterpret_cast<const char*>(data), size);
}

} // namespace codef::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
