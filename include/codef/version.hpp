/// @file
/// @brief The library's version. CMakeLists.txt reads the project's version from these lines.
#pragma once

/// The major part of the library's version (MAJOR in MAJOR.MINOR.PATCH).
#define CODEF_VERSION_MAJOR 0
/// The minor part of the library's version (MINOR in MAJOR.MINOR.PATCH).
#define CODEF_VERSION_MINOR 1
/// The patch part of the library's version (PATCH in MAJOR.MINOR.PATCH).
#define CODEF_VERSION_PATCH 0
/// The library's version as a string: "MAJOR.MINOR.PATCH".
#define CODEF_VERSION_STRING "0.1.0"
